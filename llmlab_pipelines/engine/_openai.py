"""A fast path for OpenAI-compatible servers: the HTTP API called directly, without litellm.

litellm spends ~4-5 ms of CPU on every call, which caps one process near 200 calls a second.
For models litellm itself sends to an OpenAI-compatible endpoint (``openai/...`` strings, with
or without an ``api_base``: OpenAI, vLLM, llama.cpp's server, TGI, Ollama's ``/v1``), this
client sends the same request with a pooled aiohttp session and reads the reply itself.

litellm still decides, once per model entry and parameters, everything it decides today: the
provider, the endpoint (chat or text completion), the request body (its parameter mapping,
e.g. ``max_completion_tokens`` for reasoning models) and the price per token (from its price
map). A call then costs a JSON encode, one HTTP exchange and a JSON decode. Replies are sorted
into the kinds :class:`LiteLLMClient` reports for the same reply.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import os
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp.helpers import get_env_proxy_for_url
from yarl import URL

from ..lab import ModelConfig
from ..secrets import read_secret
from ._client import ProviderError, _retry_after, configured_cost
from ._local import PROVIDER as LOCAL_PROVIDER
from ._prices import price_of
from ._types import Completion, GenerationRequest

#: HTTP statuses and the kinds litellm's exceptions for them are classified as (any other 5xx:
#: ``server``; any other status: ``other``).
STATUS_KINDS = {
    400: "bad_request",
    401: "auth",
    403: "auth",
    404: "not_found",
    408: "timeout",
    422: "bad_request",
    429: "rate_limit",
    504: "timeout",
}
_DEFAULT_BASE = "https://api.openai.com/v1"
_NOT_BODY = frozenset({"extra_headers", "extra_query", "stream", "stream_options"})


@dataclass(frozen=True)
class Route:
    """Where and how one model entry with one set of parameters is called.

    Args:
        url: The endpoint.
        chat: ``/chat/completions`` (messages) rather than ``/completions`` (a prompt).
        body: The request body without the prompt.
        provider: litellm's provider for the reply's price (None for text completions).
    """

    url: str
    chat: bool
    body: dict[str, Any]
    provider: str | None


class _StatusError(Exception):
    """A reply with an error status, carrying its headers for :func:`_retry_after`."""

    def __init__(self, status: int, headers: Any, message: str) -> None:
        super().__init__(message)
        self.status_code = status
        self.headers = headers


class FastOpenAIClient:
    """Calls OpenAI-compatible endpoints directly; :meth:`route` says which requests it takes.

    Each model (endpoint, model string, concurrency) gets a keep-alive connection pool as large
    as its ``concurrency`` on the event loop that makes the calls, shared by every client.
    """

    def __init__(self) -> None:
        self._routes: dict[str, Route | None] = {}

    def route(self, request: GenerationRequest) -> Route | None:
        """How the request is sent, or None when litellm must send it (another provider, the
        local model, parameters litellm sends outside the body)."""
        config = request.config
        key = json.dumps(
            [config.model, config.mode, config.api_base, config.extra, request.params.as_kwargs()],
            sort_keys=True,
            default=str,
        )
        if key not in self._routes:
            self._routes[key] = _build_route(request)
        return self._routes[key]

    @staticmethod
    def api_key(request: GenerationRequest) -> str | None:
        """The key litellm would send: the entry's ``api_key_env``, else ``OPENAI_API_KEY``."""
        import litellm

        variable = request.config.api_key_env or "OPENAI_API_KEY"
        if request.config.api_key_env:
            key = read_secret(variable)
        else:
            key = litellm.api_key or litellm.openai_key or read_secret(variable)
        if key and any(ord(c) < 32 or ord(c) == 127 for c in key):
            raise ProviderError(
                "auth",
                f"the key in {variable} holds a control character (a line ending copied from a "
                ".env file written on Windows?): set it again without it",
            )
        return key

    def prepare(self, request: GenerationRequest) -> tuple[Route, str] | None:
        """The request's route and key, or None when litellm must send it (no route; no key:
        litellm reports that as it does today)."""
        route = self.route(request)
        key = self.api_key(request) if route is not None else None
        return (route, key) if route is not None and key else None

    async def complete(self, request: GenerationRequest) -> Completion:
        """Call the model once; raise :class:`ProviderError` on failure."""
        ready = self.prepare(request)
        if ready is None:
            raise ProviderError("other", f"{request.config.model} is not for the fast path")
        return await self.send(request, *ready)

    async def send(self, request: GenerationRequest, route: Route, key: str) -> Completion:
        """Send a prepared request (see :meth:`prepare`)."""
        body = dict(route.body)
        if route.chat:
            body["messages"] = [{"role": "user", "content": request.prompt}]
        else:
            body["prompt"] = request.prompt
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        organization = os.environ.get("OPENAI_ORGANIZATION")
        if organization:
            headers["OpenAI-Organization"] = organization
        session = POOLS.get(route, request.config)
        timeout = aiohttp.ClientTimeout(total=request.config.timeout)
        try:
            async with session.post(
                route.url, data=json.dumps(body), headers=headers, timeout=timeout
            ) as resp:
                status, reply_headers, raw = resp.status, resp.headers, await resp.read()
        except TimeoutError:
            raise ProviderError(
                "timeout", f"no reply within {request.config.timeout:g}s (the model's `timeout`)"
            ) from None
        except aiohttp.ClientError as exc:  # litellm reports these as server errors
            message = f"connection error: {type(exc).__name__}: {exc}"
            raise ProviderError("server", message) from None
        if status >= 300:
            raise _status_error(status, reply_headers, raw)
        return self._completion(request, route, _decode(raw))

    def _completion(self, request: GenerationRequest, route: Route, data: Any) -> Completion:
        if not isinstance(data, dict):
            raise ProviderError("server", "the reply is not a JSON object")
        choices = data.get("choices")
        if not choices:
            if "error" in data and route.chat:
                raise ProviderError("bad_request", f"the provider answered: {data['error']}")
            raise ProviderError("malformed", "the reply has no choices")
        choice = choices[0] if isinstance(choices[0], dict) else {}
        message = choice.get("message") if route.chat else None
        text = message.get("content") if isinstance(message, dict) else choice.get("text")
        if not isinstance(text, str):
            raise ProviderError("malformed", "the provider returned no text")
        usage: dict[str, Any] = data["usage"] if isinstance(data.get("usage"), dict) else {}
        p_tok = int(usage.get("prompt_tokens") or 0)
        c_tok = int(usage.get("completion_tokens") or 0)
        return Completion(
            text=text,
            prompt_tokens=p_tok,
            completion_tokens=c_tok,
            cost_usd=self._cost(request, route, data, usage),
            model=str(data.get("model") or request.config.model),
            finish_reason=_finish_reason(choice.get("finish_reason"), chat=route.chat),
        )

    def _cost(
        self, request: GenerationRequest, route: Route, data: dict[str, Any], usage: dict[str, Any]
    ) -> float:
        """The entry's prices, else litellm's for the served model (looked up once a process)."""
        p_tok = int(usage.get("prompt_tokens") or 0)
        c_tok = int(usage.get("completion_tokens") or 0)
        configured = configured_cost(request.config, p_tok, c_tok)
        if configured is not None:
            return configured
        price = price_of(route.provider, str(data.get("model") or request.config.model))
        return 0.0 if price is None else price.cost(data, usage)

    async def aclose(self) -> None:
        """Close the pools of the running event loop (every client's: they are shared)."""
        await POOLS.aclose()


class _Pools:
    """Keep-alive connection pools shared by every client of the process (engines come and go
    with each asset; the connections stay): one per event loop, endpoint, model and
    concurrency, as large as the concurrency; closed at exit."""

    def __init__(self) -> None:
        self.sessions: dict[tuple[Any, ...], aiohttp.ClientSession] = {}

    def get(self, route: Route, config: ModelConfig) -> aiohttp.ClientSession:
        """The pool for a call on the running loop."""
        key = (asyncio.get_running_loop(), route.url, config.model, config.concurrency)
        session = self.sessions.get(key)
        if session is None or session.closed:
            self._forget_closed_loops()
            size = config.concurrency
            connector = aiohttp.TCPConnector(limit=size, limit_per_host=size, keepalive_timeout=30)
            proxy, proxy_auth = None, None  # HTTP(S)_PROXY / NO_PROXY, read once, not per call
            with contextlib.suppress(LookupError):
                proxy, proxy_auth = get_env_proxy_for_url(URL(route.url))
            session = aiohttp.ClientSession(connector=connector, proxy=proxy, proxy_auth=proxy_auth)
            self.sessions[key] = session
        return session

    def _forget_closed_loops(self) -> None:
        """Drop the pools of event loops that are gone (a test's ``asyncio.run``)."""
        for key in [k for k in self.sessions if k[0].is_closed()]:
            _close_now(self.sessions.pop(key))

    async def aclose(self) -> None:
        """Close the pools of the running event loop."""
        loop = asyncio.get_running_loop()
        for key in [k for k in self.sessions if k[0] is loop]:
            await self.sessions.pop(key).close()

    def close(self) -> None:
        """Close every pool from outside its loop (at exit, the engine's loop still runs)."""
        self._forget_closed_loops()
        for (loop, *_), session in self.sessions.items():
            if loop.is_running():
                with contextlib.suppress(Exception):
                    asyncio.run_coroutine_threadsafe(session.close(), loop).result(5)
            _close_now(session)
        self.sessions.clear()


def _close_now(session: aiohttp.ClientSession) -> None:
    """Close a pool whose loop is gone or idle: its sockets, synchronously (``close()`` is a
    coroutine, which only the pool's own loop could run)."""
    connector = session.connector
    if connector is not None and not connector.closed:
        with contextlib.suppress(Exception):
            connector._close()


POOLS = _Pools()
atexit.register(POOLS.close)


def _build_route(request: GenerationRequest) -> Route | None:
    """Ask litellm, once, where the request goes and what body it sends."""
    import litellm

    config = request.config
    if config.model.startswith(f"{LOCAL_PROVIDER}/") or litellm.route_all_chat_openai_to_responses:
        return None
    try:
        name, provider, _, base = litellm.get_llm_provider(config.model, api_base=config.api_base)
    except Exception:  # litellm reports it when the call is made
        return None
    if provider != "openai" or _mode(name) not in (None, "chat", "completion"):
        return None
    chat = config.mode == "chat" or name in litellm.open_ai_chat_completion_models
    asked = {**config.extra, **request.params.as_kwargs()}
    try:
        mapped = litellm.get_optional_params(
            model=name,
            custom_llm_provider="openai" if chat else "text-completion-openai",
            drop_params=True,
            **asked,
        )
    except Exception:
        return None
    extra_body = mapped.pop("extra_body", None) or {}
    body = {"model": name, **{k: v for k, v in mapped.items() if k != "stream"}, **extra_body}
    if mapped.get("stream") or _NOT_BODY & set(body) or not set(config.extra) <= set(body):
        return None  # litellm would stream, send headers, or use an extra argument itself
    root = base or litellm.api_base or os.environ.get("OPENAI_BASE_URL")
    root = (root or os.environ.get("OPENAI_API_BASE") or _DEFAULT_BASE).rstrip("/")
    url = f"{root}/chat/completions" if chat else f"{root}/completions"
    return Route(url, chat, body, "openai" if chat else None)


def _mode(name: str) -> str | None:
    """The price map's mode for a model (``responses`` models are sent elsewhere)."""
    import litellm

    entry = litellm.model_cost.get(name) or litellm.model_cost.get(f"openai/{name}") or {}
    return entry.get("mode")


def _decode(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError as exc:  # litellm reports an unreadable reply as a server error
        raise ProviderError("server", f"the reply is not JSON: {exc}") from None


def _status_error(status: int, headers: Any, raw: bytes) -> ProviderError:
    """The kind litellm reports for an error status, with the server's message."""
    text = raw[:2000].decode("utf-8", "replace")
    with contextlib.suppress(ValueError, AttributeError, TypeError):
        text = str(json.loads(text)["error"].get("message") or text)
    kind = STATUS_KINDS.get(status) or ("server" if status >= 500 else "other")
    error = _StatusError(status, headers, f"HTTP {status}: {text}")
    retry_after = _retry_after(error) if kind == "rate_limit" else None
    return ProviderError(kind, str(error), retry_after=retry_after)


def _finish_reason(reason: Any, *, chat: bool) -> str:
    """litellm's spelling of the finish reason (chat replies without one say ``stop``)."""
    from litellm.litellm_core_utils.core_helpers import map_finish_reason

    if reason is None:
        return "stop" if chat else ""
    return str(map_finish_reason(reason))
