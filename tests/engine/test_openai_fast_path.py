"""The fast path for OpenAI-compatible servers gives what litellm gives: the same request on the
wire, the same rows (outputs, tokens, costs, error kinds, attempts), faults included."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web

from llmlab_pipelines.engine import (
    Engine,
    FastOpenAIClient,
    GenerationRequest,
    GenerationResult,
    LiteLLMClient,
    ProviderError,
    RoutingClient,
)
from llmlab_pipelines.engine._openai import POOLS
from llmlab_pipelines.lab import GenerationParams, ModelConfig
from llmlab_pipelines.resources.llm import LLMResource
from llmlab_pipelines.testing import Simulator, SimulatorConfig, arithmetic_responder

KEY = "sk-fast-path-not-a-real-key-000"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)


def request(model: str, base: str, prompt: str = "hello", **config: Any) -> GenerationRequest:
    params = GenerationParams(**config.pop("params", {"max_tokens": 8}))
    entry = ModelConfig(model=model, api_base=base, **config)
    return GenerationRequest("i", 0, prompt, "m", entry, params)


# -- a server with every quirk: error statuses, bad bodies, missing fields -----------------------
def _reply(chat: bool, **over: Any) -> dict[str, Any]:
    choice: dict[str, Any] = {"index": 0, "finish_reason": "stop"}
    choice.update({"message": {"role": "assistant", "content": "hi"}} if chat else {"text": "hi"})
    usage = {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}
    return {"id": "x", "created": 1, "model": "served", "choices": [choice], "usage": usage, **over}


def _edit(chat: bool, edit: Callable[[dict[str, Any]], None]) -> web.Response:
    data = _reply(chat)
    edit(data)
    return web.json_response(data)


def _content(data: dict[str, Any], value: Any) -> None:
    choice = data["choices"][0]
    if "message" in choice:
        choice["message"]["content"] = value
    else:
        choice["text"] = value


QUIRKS: dict[str, Callable[[bool], web.Response]] = {
    "ok": lambda chat: web.json_response(_reply(chat)),
    "date429": lambda chat: web.json_response(
        {"error": {"message": "slow down"}},
        status=429,
        headers={"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"},
    ),
    "plain500": lambda chat: web.Response(status=500, text="oops"),
    "html200": lambda chat: web.Response(text="<html>hi</html>", content_type="text/html"),
    "malformed": lambda chat: web.Response(
        text='{"id": "x", "choices": [{"mess', content_type="application/json"
    ),
    "nousage": lambda chat: _edit(chat, lambda d: d.pop("usage")),
    "nomodel": lambda chat: _edit(chat, lambda d: d.pop("model")),
    "nullcontent": lambda chat: _edit(chat, lambda d: _content(d, None)),
    "nochoices": lambda chat: web.json_response(_reply(chat, choices=[])),
    "eos": lambda chat: _edit(chat, lambda d: d["choices"][0].update(finish_reason="eos")),
    "length": lambda chat: _edit(chat, lambda d: d["choices"][0].update(finish_reason="length")),
    "nofinish": lambda chat: _edit(chat, lambda d: d["choices"][0].update(finish_reason=None)),
    "error200": lambda chat: web.json_response({"error": {"message": "nope"}}),
    "priced": lambda chat: web.json_response(_reply(chat, model="gpt-4o-mini-2024-07-18")),
    "cached": lambda chat: _edit(
        chat,
        lambda d: d.update(
            model="gpt-4o-mini-2024-07-18",
            usage={**d["usage"], "prompt_tokens_details": {"cached_tokens": 2}},
        ),
    ),
}
STATUSES = (400, 401, 403, 404, 408, 409, 413, 429, 500, 502, 503, 504, 529)
#: where litellm's kind is a bug of its own: a 422 to a chat call fails inside litellm
#: ("'NoneType' object has no attribute 'choices'": kind other); the fast path says bad_request,
#: as litellm does for the same status on text completions. Neither is retried.
KNOWN = {("chat", "s422"): ("other", "bad_request")}


async def _quirk(request: web.Request) -> web.StreamResponse:
    case = (await request.json())["model"]
    chat = request.path.endswith("/chat/completions")
    if case == "reset":
        assert request.transport is not None
        request.transport.close()
        return web.Response()
    if case.startswith("s") and case[1:].isdigit():
        status = int(case[1:])
        headers = {"Retry-After": "2"} if status in (429, 503) else None
        payload = {"error": {"message": "bad thing", "type": "x", "code": status}}
        return web.json_response(payload, status=status, headers=headers)
    return QUIRKS[case](chat)


async def serving(handler: Handler, check: Callable[[str], Awaitable[None]]) -> None:
    """Serve ``handler`` on a free port for as long as ``check(api_base)`` runs."""
    app = web.Application()
    app.router.add_post("/v1/chat/completions", handler)
    app.router.add_post("/v1/completions", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        await check(f"http://127.0.0.1:{port}/v1")
    finally:
        await runner.cleanup()


async def _outcome(client: Any, req: GenerationRequest) -> tuple[Any, ...]:
    try:
        c = await client.complete(req)
    except ProviderError as exc:
        wait = exc.retry_after
        return (exc.kind, None if wait is None else round(wait, -3 if wait > 1000 else 0))
    tokens = (c.prompt_tokens, c.completion_tokens)
    return ("ok", c.text, *tokens, c.cost_usd, c.model, c.finish_reason)


@pytest.mark.parametrize("mode", ["chat", "completion"])
def test_every_quirk_gives_what_litellm_gives(mode: str) -> None:
    asyncio.run(serving(_quirk, lambda base: _compare_quirks(base, mode)))


async def _compare_quirks(quirks: str, mode: str) -> None:
    cases = [*QUIRKS, "reset", "s422", *(f"s{s}" for s in STATUSES)]
    fast, slow = FastOpenAIClient(), LiteLLMClient()
    refused = request("openai/ok", "http://127.0.0.1:9/v1", mode=mode)
    for case, base in [*((c, quirks) for c in cases), ("refused", refused.config.api_base)]:
        req = request(f"openai/{case}", str(base), mode=mode)
        theirs, ours = await _outcome(slow, req), await _outcome(fast, req)
        known = KNOWN.get((mode, case))
        if known is not None:
            assert (theirs[0], ours[0]) == known
            continue
        assert ours[:1] == theirs[:1] and ours == pytest.approx(theirs), case
    assert (await _outcome(fast, request("openai/priced", quirks)))[4] == pytest.approx(1.05e-6)
    assert (await _outcome(fast, request("openai/s429", quirks)))[:2] == ("rate_limit", 2)
    await fast.aclose()


# -- the same request on the wire ----------------------------------------------------------------
SHAPES = [
    ("openai/sim", "chat", {"max_tokens": 8}, {}),
    ("openai/sim", "completion", {"max_tokens": 8, "stop": ["\n"], "temperature": 0}, {}),
    ("openai/gpt-4o-mini", "completion", {"max_tokens": 8}, {}),  # a chat model: chat endpoint
    ("openai/o3-mini", "chat", {"max_tokens": 8, "temperature": 0.5}, {}),  # max_completion_tokens
    ("openai/gpt-5", "chat", {"max_tokens": 8, "temperature": 0.5, "seed": 3}, {}),
    ("openai/sim", "chat", {"max_tokens": 8}, {"top_k": 5, "response_format": {"type": "text"}}),
    ("openai/sim", "completion", {"max_tokens": 8}, {"top_k": 5}),
    (
        "openai/gpt-4o-mini",
        "chat",
        {"top_p": 0.5, "presence_penalty": 0.1, "frequency_penalty": 0.2, "temperature": 1.0},
        {},
    ),
]


def test_the_request_on_the_wire_is_litellms() -> None:
    seen: list[tuple[str, dict[str, Any], str]] = []

    async def capture(req: web.Request) -> web.Response:
        seen.append((req.path, await req.json(), req.headers.get("Authorization", "")))
        return web.json_response(_reply(req.path.endswith("/chat/completions")))

    async def check(base: str) -> None:
        fast, slow = FastOpenAIClient(), LiteLLMClient()
        for model, mode, params, extra in SHAPES:
            req = request(model, base, mode=mode, params=params, extra=extra)
            await slow.complete(req)
            await fast.complete(req)
            assert seen[-1] == seen[-2], (model, mode, params, extra)
            assert seen[-1][2] == f"Bearer {KEY}"
        await fast.aclose()

    asyncio.run(serving(capture, check))


# -- the engine on the simulator: both paths, row by row -----------------------------------------
FAULTS = SimulatorConfig(
    responder=arithmetic_responder,
    latency_s=0.005,
    rate_429=0.15,
    retry_after_s=0.01,
    rate_5xx=0.1,
    rate_malformed=0.05,
    rate_empty=0.05,
    rate_timeout=0.08,
    timeout_s=2.0,
    seed=11,
)
N = 150
COMPARED = [
    f
    for f in GenerationResult.__dataclass_fields__
    if f not in ("latency_s", "error", "extra")  # timing; the wording of an error message
]


def _rows(sim: Simulator, client: Any, model: str, mode: str) -> list[dict[str, Any]]:
    entry = ModelConfig(
        model=model,
        mode=mode,  # type: ignore[arg-type]
        api_base=sim.base_url,
        concurrency=16,
        max_retries=1,  # some rows end in an error: their kinds are compared too
        timeout=1.0,
        breaker_threshold=10_000,  # the breaker counts failures in arrival order: keep it out
    )
    params = GenerationParams()
    warm = [GenerationRequest(f"w{i}", 0, f"w{i}", "m", entry, params) for i in range(32)]
    Engine(client).run(warm)  # litellm's first calls are slow: not what is compared
    sim.reset()  # faults hash (prompt, attempt): both runs meet the same ones
    requests = [
        GenerationRequest(f"q{i}", 0, f"q{i}: what is {i} + {i % 7}?", "m", entry, params)
        for i in range(N)
    ]
    results = Engine(client, backoff_base=0.01, backoff_cap=0.02).run(requests)
    return [{f: getattr(r, f) for f in COMPARED} for r in results]


@pytest.mark.parametrize(
    ("model", "mode"), [("openai/gpt-4o-mini", "chat"), ("openai/davinci-002", "completion")]
)
def test_the_engine_writes_the_same_rows_on_both_paths(model: str, mode: str) -> None:
    with Simulator(FAULTS) as sim:
        slow = _rows(sim, LiteLLMClient(), model, mode)
        fast_client = RoutingClient()
        fast = _rows(sim, fast_client, model, mode)
        assert fast_client.takes_fast_path(
            request(model, sim.base_url, mode=mode)
        ), "the fast path was not taken"
    assert len(fast) == len(slow) == N
    for ours, theirs in zip(fast, slow, strict=True):
        assert ours == pytest.approx(theirs), ours["item_id"]
    kinds = {row["error_type"] for row in fast}
    assert {None, "server", "timeout"} <= kinds, kinds  # rows that failed are compared too
    assert sum(row["cost_usd"] > 0 for row in fast) > 50  # priced from litellm's map
    assert any(row["attempts"] > 1 for row in fast)


# -- which path a request takes ------------------------------------------------------------------
def test_routing_takes_only_what_litellm_would_send_to_an_openai_endpoint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = RoutingClient()
    base = "http://127.0.0.1:9/v1"
    assert client.takes_fast_path(request("openai/my-vllm-model", base))
    assert client.takes_fast_path(request("gpt-4o-mini", None))  # bare OpenAI names too
    assert not client.takes_fast_path(request("anthropic/claude-3-5-haiku-latest", None))
    assert not client.takes_fast_path(request("ollama/llama3", base))  # Ollama's own API
    assert not client.takes_fast_path(request("llmlab/gemma3-270m", None, mode="completion"))
    with_headers = request("openai/sim", base, extra={"extra_headers": {"X-A": "1"}})
    assert not client.takes_fast_path(with_headers)  # litellm sends those, not the body
    assert not RoutingClient(fast_path=False).takes_fast_path(request("openai/sim", base))
    assert isinstance(LLMResource(fast_path=False).client(), RoutingClient)
    assert LLMResource(fast_path=False).client().fast is None  # type: ignore[attr-defined]
    assert LLMResource().client().fast is not None  # type: ignore[attr-defined]
    monkeypatch.delenv("OPENAI_API_KEY")
    assert not client.takes_fast_path(request("openai/sim", base))  # litellm reports it
    monkeypatch.setenv("MY_KEY_ENV", KEY)
    assert client.takes_fast_path(request("openai/sim", base, api_key_env="MY_KEY_ENV"))


def test_the_pool_holds_the_models_concurrency_and_the_key_stays_out_of_errors() -> None:
    with Simulator(SimulatorConfig(latency_s=0.05, api_key="sk-the-right-key-123")) as sim:
        reqs = [request("openai/sim", sim.base_url, f"p{i}", concurrency=8) for i in range(40)]
        (denied, *_) = Engine(RoutingClient()).run(reqs[:1])
        assert denied.error_type == "auth" and denied.attempts == 1
        assert KEY not in (denied.error or "")
        sim.config = SimulatorConfig(latency_s=0.05)
        sim.reset()
        client = RoutingClient()
        results = Engine(client).run(reqs)
        assert all(r.ok for r in results) and sim.max_in_flight == 8
        assert set(sim.authorization_headers) == {f"Bearer {KEY}"}
    (session,) = [s for key, s in POOLS.sessions.items() if key[1].startswith(sim.base_url)]
    assert session.connector is not None and session.connector.limit == 8


def test_a_reply_past_the_deadline_is_a_timeout() -> None:
    with Simulator(SimulatorConfig(rate_timeout=1.0, timeout_s=3.0)) as sim:
        req = request("openai/sim", sim.base_url, timeout=0.3, max_retries=0)
        (result,) = Engine(RoutingClient()).run([req])
    assert result.error_type == "timeout" and result.attempts == 1
    assert result.latency_s < 2.0


def test_route_is_computed_once_per_entry_and_parameters() -> None:
    fast = FastOpenAIClient()
    base = "http://127.0.0.1:9/v1"
    first = fast.route(request("openai/sim", base, "a"))
    assert first is not None and first.url == f"{base}/chat/completions"
    assert fast.route(request("openai/sim", base, "b")) is first
    assert fast.route(request("openai/sim", base, params={"max_tokens": 9})) is not first
    assert json.loads(json.dumps(first.body)) == {"model": "sim", "max_tokens": 8}
    asyncio.run(fast.aclose())


def test_prices_are_litellms_arithmetic_where_linear_and_litellms_own_sum_elsewhere() -> None:
    from llmlab_pipelines.engine._prices import litellm_cost, price_of

    plain = price_of("openai", "gpt-4o-mini")
    assert plain is not None and plain.linear
    usage = {"prompt_tokens": 1234, "completion_tokens": 56, "total_tokens": 1290}
    assert plain.cost({}, usage) == pytest.approx(litellm_cost("openai", "gpt-4o-mini", usage))
    assert price_of("openai", "no-such-model") is None
    tiered = price_of("openai", "gpt-5.6")  # dearer above some prompt length
    assert tiered is not None and not tiered.linear
    big = {"prompt_tokens": 400_000, "completion_tokens": 10, "total_tokens": 400_010}
    assert tiered.cost({}, big) == pytest.approx(litellm_cost("openai", "gpt-5.6", big))
    assert tiered.cost({}, big) > 400_000 * tiered.prompt + 10 * tiered.completion


def test_a_key_with_a_line_ending_is_named_as_the_cause_and_never_shown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY + "\r")  # a .env file written on Windows
    with Simulator(SimulatorConfig()) as sim:
        (row,) = Engine(RoutingClient()).run([request("openai/sim", sim.base_url)])
        assert sim.total_requests == 0  # refused before sending
    assert row.error_type == "auth" and row.attempts == 1
    assert "OPENAI_API_KEY holds a control character" in (row.error or "")
    assert KEY not in (row.error or "")


def test_pools_of_finished_event_loops_are_closed_without_warnings() -> None:
    import gc
    import warnings

    gc.collect()  # what earlier tests left (litellm's own sessions) is not this test's
    sessions = []
    with Simulator(SimulatorConfig()) as sim, warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        client = FastOpenAIClient()
        for _ in range(3):  # each asyncio.run is a new loop, with its own pool
            completion = asyncio.run(client.complete(request("openai/sim", sim.base_url)))
            assert completion.text
            sessions += [s for k, s in POOLS.sessions.items() if k[1].startswith(sim.base_url)]
        POOLS.close()
        gc.collect()
    assert len({id(s) for s in sessions}) == 3
    assert all(s.closed for s in sessions)
    texts = [str(w.message) for w in seen]
    assert not [t for t in texts if "never awaited" in t], texts
    assert not POOLS.sessions
