"""An ASGI guard in front of a local web UI: Host, Origin, GraphQL-over-GET and a token.

A web page the user happens to visit can send requests to ``http://127.0.0.1:3000``: form
POSTs, ``<img src=...>`` GETs, websockets, or (after DNS rebinding) requests under its own
name. The guard refuses, before the wrapped app sees them:

- a ``Host`` that is not the address the server is bound to (DNS rebinding);
- an ``Origin`` other than the server's own, on any request and on websocket upgrades;
- a GraphQL document sent over GET that is anything but a pure query (``mutation``,
  ``subscription``, or text that does not parse);
- without the token, when one is set: ``Authorization: Bearer <token>``, or the cookie set by
  opening ``/?token=<token>`` once.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

from starlette.datastructures import URL, Headers, QueryParams
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

COOKIE = "llmlab_ui_token"
WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::", "[::]"})
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` keeps the server on this machine."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _netloc(host: str, port: int) -> set[str]:
    """``host:port`` as a ``Host`` header may spell it (a bare host on port 80)."""
    name = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return {f"{name}:{port}".lower(), *([name.lower()] if port == 80 else [])}


def origin_of(url: str) -> str:
    """``url`` as a browser's ``Origin`` header spells it: ``scheme://host[:port]``, lower case.

    Raises:
        ValueError: Naming ``url``, when it has no ``http``/``https`` scheme, no host, a bad
            port, or anything an origin cannot hold (user, path, query, fragment).
    """
    example = "write it as the browser's address bar shows it, e.g. https://evals.example.com"
    try:
        parts = urlsplit(url.strip().lower())
        parts.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError as err:
        raise ValueError(f"allowed origin {url!r}: {err}; {example}") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"allowed origin {url!r} has no http:// or https:// scheme; {example}")
    if not parts.hostname:
        raise ValueError(f"allowed origin {url!r} has no host; {example}")
    if parts.username is not None or parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(
            f"allowed origin {url!r} holds more than scheme://host[:port] (an Origin header "
            f"never does); {example}"
        )
    return f"{parts.scheme}://{parts.netloc}"


@dataclass(frozen=True)
class GuardConfig:
    """What the guard lets through.

    Args:
        host: The address the server is bound to (``127.0.0.1``, ``0.0.0.0``, a name...).
        port: The port it is bound to.
        token: When set, every request must carry it (bearer header or cookie).
        allowed_origins: Further origins browsers reach the server by, e.g. a reverse proxy's
            ``https://evals.example.com``; their ``host:port`` is accepted as ``Host`` too.
            Each must be ``http(s)://host[:port]`` (:func:`origin_of`), or ``ValueError``.
        graphql_path: Where the GraphQL endpoint is.
    """

    host: str
    port: int
    token: str | None = None
    allowed_origins: tuple[str, ...] = ()
    graphql_path: str = "/graphql"
    hosts: frozenset[str] | None = field(init=False)

    def __post_init__(self) -> None:
        origins = tuple(origin_of(o) for o in self.allowed_origins)
        object.__setattr__(self, "allowed_origins", origins)
        extra = {urlsplit(o).netloc for o in origins}
        if self.host.lower() in WILDCARD_HOSTS:
            hosts = None  # any name this machine answers to; the token is required then
        elif is_loopback(self.host):
            names = LOOPBACK_NAMES if self.host.lower() == "localhost" else {"localhost", self.host}
            hosts = frozenset(extra.union(*(_netloc(n, self.port) for n in names)))
        else:
            hosts = frozenset(extra | _netloc(self.host, self.port))
        object.__setattr__(self, "hosts", hosts)

    @property
    def needs_token(self) -> bool:
        """Whether the bind address reaches beyond this machine."""
        return not is_loopback(self.host)


def pure_query(text: str) -> bool:
    """Whether a GraphQL document parses and holds only ``query`` operations."""
    from graphql import GraphQLError, OperationDefinitionNode, OperationType, parse

    try:
        document = parse(text)
    except GraphQLError:
        return False
    return all(
        d.operation == OperationType.QUERY
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
    )


def _cookie_value(token: str) -> str:
    """What the cookie holds: derived from the token, so the cookie is not the token itself."""
    return hmac.new(token.encode(), b"llmlab-ui-cookie", hashlib.sha256).hexdigest()


class Guard:
    """ASGI middleware refusing cross-site, rebinding and unauthenticated requests.

    Args:
        app: The wrapped ASGI app.
        config: What to let through.
        on_refuse: Called with a one-line reason for every refused request.
    """

    def __init__(
        self,
        app: ASGIApp,
        config: GuardConfig,
        on_refuse: Callable[[str], None] | None = None,
    ) -> None:
        self.app, self.config, self.on_refuse = app, config, on_refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)  # lifespan
            return
        response = self.check(scope)
        if response is None:
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})  # answered as HTTP 403
        else:
            await response(scope, receive, send)

    def check(self, scope: Scope) -> Response | None:
        """The refusal (or token redirect) for a request, or None to let it through."""
        headers = Headers(scope=scope)
        host = headers.get("host", "").lower()
        if self.config.hosts is not None and (not host or host not in self.config.hosts):
            return self.refuse(403, f"Host {host!r} is not this server's address")
        origin = headers.get("origin")
        if origin is not None and not self.same_origin(origin, host):
            return self.refuse(403, f"cross-origin request from {origin!r}")
        token = self.config.token
        query = QueryParams(scope.get("query_string", b""))
        if token is not None:
            offered = query.get("token")
            if offered is not None and scope["type"] == "http":
                if not hmac.compare_digest(offered.encode(), token.encode()):
                    return self.refuse(401, "wrong token")
                return self.set_cookie(scope, query)
            if not self.authenticated(headers, token):
                return self.refuse(401, "no token")
        path = scope.get("path", "").rstrip("/")
        if scope["type"] == "http" and path == self.config.graphql_path:
            method = scope.get("method", "GET")
            if method in ("GET", "HEAD") and not all(pure_query(q) for q in query.getlist("query")):
                return self.refuse(403, "a GraphQL mutation over GET (POST it, same origin)")
        return None

    def same_origin(self, origin: str, host: str) -> bool:
        """An ``Origin`` of this server (by the ``Host`` asked for), or an allowed one."""
        origin = origin.rstrip("/").lower()
        if origin in self.config.allowed_origins:
            return True
        parts = urlsplit(origin)
        return parts.scheme in ("http", "https") and bool(host) and parts.netloc == host

    @staticmethod
    def authenticated(headers: Headers, token: str) -> bool:
        """A bearer header with the token, or the cookie derived from it."""
        scheme, _, value = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(value.encode(), token.encode()):
            return True
        for part in headers.get("cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == COOKIE and hmac.compare_digest(
                value.encode(), _cookie_value(token).encode()
            ):
                return True
        return False

    def set_cookie(self, scope: Scope, query: QueryParams) -> Response:
        """Answer ``?token=...`` with the cookie and the same page without the token."""
        rest = urlencode([(k, v) for k, v in query.multi_items() if k != "token"])
        target = URL(scope=scope).replace(query=rest)
        response = RedirectResponse(f"{target.path}{'?' + rest if rest else ''}", status_code=303)
        response.set_cookie(
            COOKIE,
            _cookie_value(self.config.token or ""),
            httponly=True,
            samesite="lax",
            secure=scope.get("scheme") == "https",
        )
        return response

    def refuse(self, status: int, reason: str) -> Response:
        """A short plain-text refusal, reported to ``on_refuse``."""
        if self.on_refuse is not None:
            self.on_refuse(f"refused ({status}): {reason}")
        hint = (
            "open this server's address with ?token=<the token> once, or send "
            "'Authorization: Bearer <the token>'"
            if status == 401
            else "llmlab ui only answers its own pages (see README: The web UI)"
        )
        return PlainTextResponse(f"{reason}: {hint}\n", status_code=status)
