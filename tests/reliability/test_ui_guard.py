"""The web guard, unit by unit, on Starlette's TestClient: what a hostile page can send."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket, WebSocketDisconnect

from llmlab_pipelines.web import Guard, GuardConfig, pure_query

pytestmark = pytest.mark.reliability
LOCAL = "http://127.0.0.1:3000"
MUTATION = 'mutation { launchRun(executionParams: {runConfigData: "{}"}) { __typename } }'


class Recorder:
    """A stand-in webserver that records every GraphQL document it would execute."""

    def __init__(self) -> None:
        self.executed: list[str] = []

    async def graphql(self, request: Request) -> JSONResponse:
        if request.method == "POST":
            self.executed.append((await request.json())["query"])
        elif "query" in request.query_params:
            self.executed.append(request.query_params["query"])
        return JSONResponse({"data": {}})

    async def socket(self, websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("hello")
        await websocket.close()

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/graphql", self.graphql, methods=["GET", "POST"]),
                WebSocketRoute("/graphql", self.socket),
                Route("/{path:path}", lambda _: PlainTextResponse("page")),
            ]
        )


def client(
    recorder: Recorder, base_url: str = LOCAL, refused: list[str] | None = None, **config: object
) -> TestClient:
    settings = GuardConfig(**{"host": "127.0.0.1", "port": 3000, **config})  # type: ignore[arg-type]
    guard = Guard(
        recorder.app(), settings, on_refuse=(refused if refused is not None else []).append
    )
    return TestClient(guard, base_url=base_url, follow_redirects=False)


def socket_to(web: TestClient, **headers: str) -> object:
    """A websocket to /graphql (TestClient's websockets ignore base_url: name the host)."""
    return web.websocket_connect("/graphql", headers={"host": "127.0.0.1:3000", **headers})


def post(web: TestClient, query: str, **headers: str) -> int:
    return web.post("/graphql", json={"query": query}, headers=headers).status_code


def test_same_origin_passes_and_foreign_origins_are_refused_before_anything_runs() -> None:
    recorder = Recorder()
    refused: list[str] = []
    web = client(recorder, refused=refused)
    assert post(web, "{ version }", origin=LOCAL) == 200
    assert post(web, "{ version }") == 200  # scripts (curl) send no Origin: not a browser attack
    localhost = {"origin": "http://localhost:3000", "host": "localhost:3000"}
    assert post(web, MUTATION, **localhost) == 200  # the same server under its other name
    for origin in (
        "http://evil.example",
        "null",
        "http://127.0.0.1:3001",
        "https://127.0.0.1",
        "http://localhost:3000",  # another origin than the page's own (127.0.0.1:3000)
    ):
        assert post(web, MUTATION, origin=origin) == 403
    assert web.get("/", headers={"origin": "http://evil.example"}).status_code == 403
    assert recorder.executed == ["{ version }", "{ version }", MUTATION]
    assert len(refused) == 6 and "evil.example" in refused[0]


def test_a_foreign_host_is_refused_dns_rebinding() -> None:
    recorder = Recorder()
    web = client(recorder)
    assert web.get("/").status_code == 200
    assert web.get("/", headers={"host": "localhost:3000"}).status_code == 200
    for host in ("evil.example:3000", "evil.example", "127.0.0.1:3001", "127.0.0.1", ""):
        assert web.get("/", headers={"host": host}).status_code == 403, host
    # a rebound page is same-origin with itself: Origin and Host agree, the Host does not
    rebound = {"host": "evil.example:3000", "origin": "http://evil.example:3000"}
    assert web.post("/graphql", json={"query": MUTATION}, headers=rebound).status_code == 403
    assert recorder.executed == []


@pytest.mark.parametrize(
    "document",
    [
        MUTATION,
        'subscription { pipelineRunLogs(runId: "x") { __typename } }',
        "query A { version } mutation B { wipeAssets(assetPartitionRanges: []) { __typename } }",
        "mutation{launchRun}",
        "not graphql {",
    ],
)
def test_anything_but_a_pure_query_over_get_is_refused(document: str) -> None:
    recorder = Recorder()
    web = client(recorder)
    assert not pure_query(document)
    assert web.get("/graphql", params={"query": document}).status_code == 403
    # a second `query` parameter cannot hide it either
    assert web.get(f"/graphql?query=%7Bversion%7D&query={document}").status_code == 403
    assert web.get("/graphql/", params={"query": document}).status_code == 403
    assert recorder.executed == []


def test_pure_queries_over_get_and_graphiql_still_work() -> None:
    recorder = Recorder()
    web = client(recorder)
    assert web.get("/graphql", params={"query": "{ version }"}).status_code == 200
    assert web.get("/graphql", params={"query": "query Q { version } fragment F on X { a }"})
    assert web.get("/graphql", headers={"accept": "text/html"}).status_code == 200
    assert recorder.executed[0] == "{ version }"


def test_websocket_upgrades_from_a_foreign_origin_are_refused() -> None:
    web = client(Recorder())
    with socket_to(web, origin=LOCAL) as socket:  # type: ignore[attr-defined]
        assert socket.receive_text() == "hello"
    for headers in ({"origin": "http://evil.example"}, {"host": "evil.example:3000"}):
        with pytest.raises(WebSocketDisconnect), socket_to(web, **headers):  # type: ignore[attr-defined]
            pass


def test_a_token_is_needed_as_bearer_or_as_the_cookie_set_by_visiting_with_it() -> None:
    recorder = Recorder()
    web = client(recorder, token="s3cret")
    assert web.get("/").status_code == 401
    assert post(web, "{ version }") == 401
    assert post(web, "{ version }", authorization="Bearer wrong") == 401
    assert post(web, "{ version }", authorization="Bearer s3cret") == 200
    assert web.get("/runs?token=wrong").status_code == 401
    assert "llmlab_ui_token" not in web.cookies
    visit = web.get("/runs?view=all&token=s3cret")
    assert visit.status_code == 303 and visit.headers["location"] == "/runs?view=all"
    cookie = visit.headers["set-cookie"]
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower() and "s3cret" not in cookie
    assert web.get("/runs").status_code == 200  # the client now sends the cookie
    cookie = f"llmlab_ui_token={web.cookies['llmlab_ui_token']}"  # a browser sends it along
    with socket_to(web, origin=LOCAL, cookie=cookie) as socket:  # type: ignore[attr-defined]
        assert socket.receive_text() == "hello"
    assert recorder.executed == ["{ version }"]
    anonymous = client(Recorder(), token="s3cret")
    with pytest.raises(WebSocketDisconnect), socket_to(anonymous):  # type: ignore[attr-defined]
        pass


def test_binding_beyond_this_machine_needs_the_token_and_reverse_proxies_are_named() -> None:
    assert not GuardConfig("127.0.0.1", 3000).needs_token
    assert not GuardConfig("localhost", 3000).needs_token
    assert not GuardConfig("::1", 3000).needs_token
    assert GuardConfig("0.0.0.0", 3000).needs_token
    assert GuardConfig("10.1.2.3", 3000).needs_token
    # on 0.0.0.0 every name of the machine is its address; the token keeps strangers out
    wide = client(Recorder(), base_url="http://evalbox:3000", host="0.0.0.0", token="t")
    assert wide.get("/", headers={"authorization": "Bearer t"}).status_code == 200
    assert wide.get("/").status_code == 401
    # behind a reverse proxy that keeps its own Host and Origin
    proxied = client(
        Recorder(),
        base_url="https://evals.example.com",
        allowed_origins=("https://evals.example.com",),
    )
    headers = {"origin": "https://evals.example.com"}
    assert proxied.post("/graphql", json={"query": "{ a }"}, headers=headers).status_code == 200
    assert proxied.get("/", headers={"host": "other.example.com"}).status_code == 403


@pytest.mark.parametrize(
    ("origin", "why"),
    [
        ("evals.example.com", "no http:// or https:// scheme"),
        ("evals.example.com:443", "no http:// or https:// scheme"),
        ("ftp://evals.example.com", "no http:// or https:// scheme"),
        ("https://", "no host"),
        ("https://:443", "no host"),
        ("https://evals.example.com:99999", "out of range"),
        ("https://user:pw@evals.example.com", "more than scheme://host[:port]"),
        ("https://evals.example.com/dagster", "more than scheme://host[:port]"),
    ],
)
def test_an_allowed_origin_that_is_not_scheme_and_host_is_refused_at_startup(
    origin: str, why: str
) -> None:
    with pytest.raises(ValueError, match="allowed origin") as info:
        GuardConfig("127.0.0.1", 3000, allowed_origins=(origin,))
    assert repr(origin) in str(info.value) and why in str(info.value)
    assert "https://evals.example.com" in str(info.value)  # how to write it


def test_allowed_origins_are_kept_as_browsers_send_them() -> None:
    config = GuardConfig(
        "127.0.0.1", 3000, allowed_origins=("HTTPS://Evals.Example.com/", "http://[::1]:8080")
    )
    assert config.allowed_origins == ("https://evals.example.com", "http://[::1]:8080")
    assert config.hosts is not None and "" not in config.hosts


def test_a_request_without_a_host_header_is_refused() -> None:
    refused: list[str] = []
    guard = Guard(
        Recorder().app(),
        GuardConfig("127.0.0.1", 3000, allowed_origins=("https://evals.example.com",)),
        on_refuse=refused.append,
    )
    scope = {"type": "http", "method": "GET", "path": "/", "headers": [], "query_string": b""}
    response = guard.check(scope)
    assert response is not None and response.status_code == 403
    assert refused == ["refused (403): Host '' is not this server's address"]
