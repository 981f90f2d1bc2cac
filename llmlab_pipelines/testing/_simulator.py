"""An OpenAI-compatible provider simulator: real HTTP, with latency, 429s, 5xx and bad replies.

Fault decisions hash (seed, prompt, attempt number of that prompt), so a re-run of the same
workload meets the same faults whatever the arrival order.
"""

from __future__ import annotations

import asyncio
import collections
import json
import random
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web

from ._responders import echo_responder, key_echo
from ._wire import (
    _cumulative,
    _digest,
    _error,
    _pad,
    _prompt_of,
    _reply,
    _retry_after,
    _trickle,
    _truncate,
)


@dataclass(frozen=True)
class SimulatorConfig:
    """How the simulated provider behaves.

    Args:
        latency_s: Mean service time of a successful call.
        latency_jitter_s: Uniform jitter ± around the latency.
        rate_429: Probability of a 429 with ``Retry-After: retry_after_s``.
        retry_after_s: The Retry-After the 429s carry.
        rpm: A true limit: requests beyond it in any 60 s window get 429 with the wait needed.
        rate_5xx: Probability of a 500/502/503.
        rate_timeout: Probability of answering only after ``timeout_s``.
        timeout_s: How long a "timeout" reply takes.
        rate_malformed: Probability of a 200 whose body is not valid JSON.
        rate_empty: Probability of a valid reply with empty content.
        fail_first_n: The first n attempts of every prompt get a 503.
        rate_limit_first_n: The first n attempts of every prompt get a 429 with
            ``Retry-After: retry_after_s`` (e.g. a provider asking to wait an hour).
        rate_trickle: Probability of a slow-loris reply: headers at once, then the body one
            byte every ``trickle_interval_s`` (each read is quick, the whole reply is not).
        trickle_interval_s: Seconds between two trickled bytes.
        reply_chars: Pad every answer to this many characters, ignoring ``max_tokens`` (a
            provider that sends a huge reply).
        seed: Seed of every random decision.
        responder: Prompt -> answer.
        api_key: When set, requests without ``Authorization: Bearer <key>`` get 401.
        echo_key: A successful reply carries the request's bearer key in its text and in its
            ``model`` field, like a leaky provider or proxy (for tests that keys stay unwritten).
    """

    latency_s: float = 0.0
    latency_jitter_s: float = 0.0
    rate_429: float = 0.0
    retry_after_s: float = 0.05
    rpm: int | None = None
    rate_5xx: float = 0.0
    rate_timeout: float = 0.0
    timeout_s: float = 30.0
    rate_malformed: float = 0.0
    rate_empty: float = 0.0
    fail_first_n: int = 0
    rate_limit_first_n: int = 0
    rate_trickle: float = 0.0
    trickle_interval_s: float = 0.5
    reply_chars: int | None = None
    seed: int = 0
    responder: Callable[[str], str] = field(default=echo_responder)
    api_key: str | None = None
    echo_key: bool = False


class _Counters:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls: collections.Counter[str] = collections.Counter()
        self.successes: collections.Counter[str] = collections.Counter()
        self.request_times: list[float] = []
        self.success_times: list[float] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.headers_seen: list[str] = []


class Simulator:
    """Serve the simulated provider on 127.0.0.1 in a background thread.

    Use as a context manager; ``base_url`` is what litellm's ``api_base`` wants.
    """

    def __init__(self, config: SimulatorConfig | None = None, *, port: int = 0) -> None:
        self.config = config or SimulatorConfig()
        self._port = port
        self._counters = _Counters()
        self._window: collections.deque[float] = collections.deque()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> Simulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Start serving; returns when the port accepts connections."""
        if self._port == 0:
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                self._port = int(sock.getsockname()[1])
        self._thread = threading.Thread(target=self._serve, name="llm-simulator", daemon=True)
        self._thread.start()
        if not self._ready.wait(15) or self._error:
            raise RuntimeError(f"the simulator did not start: {self._error}")

    def stop(self) -> None:
        """Stop serving and join the thread."""
        if self._loop is None or self._thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(15)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(15)
        self._loop = None

    def _serve(self) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._startup())
        except BaseException as exc:  # reported by start()
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()
        self._loop.close()

    async def _startup(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/v1/completions", self._text)
        app.router.add_get("/v1/models", self._models)
        app.router.add_get("/health", self._health)
        app.router.add_get("/stats", self._stats)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self._port, backlog=1024)
        await site.start()

    async def _shutdown(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # -- counters ----------------------------------------------------------------------------
    @property
    def port(self) -> int:
        """The bound port."""
        return self._port

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self._port}"

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``, for ``api_base``."""
        return f"{self.url}/v1"

    def calls(self, prompt: str) -> int:
        """HTTP requests received for this prompt, failed ones included."""
        with self._counters.lock:
            return self._counters.calls[prompt]

    def successes(self, prompt: str) -> int:
        """Successful replies sent for this prompt."""
        with self._counters.lock:
            return self._counters.successes[prompt]

    @property
    def total_requests(self) -> int:
        """Every completion request received."""
        with self._counters.lock:
            return sum(self._counters.calls.values())

    @property
    def total_successes(self) -> int:
        """Every successful reply."""
        with self._counters.lock:
            return sum(self._counters.successes.values())

    @property
    def max_in_flight(self) -> int:
        """Peak number of requests being served at once."""
        return self._counters.max_in_flight

    @property
    def request_times(self) -> list[float]:
        """Arrival times (time.monotonic) of every request."""
        with self._counters.lock:
            return list(self._counters.request_times)

    @property
    def success_times(self) -> list[float]:
        """Times (time.monotonic) of every successful reply."""
        with self._counters.lock:
            return list(self._counters.success_times)

    @property
    def authorization_headers(self) -> list[str]:
        """Every Authorization header received (for tests of what the client sends)."""
        with self._counters.lock:
            return list(self._counters.headers_seen)

    def reset(self) -> None:
        """Forget every counter."""
        self._counters = _Counters()
        self._window.clear()

    # -- handlers ----------------------------------------------------------------------------
    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": "sim", "object": "model"}]})

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def _stats(self, request: web.Request) -> web.Response:
        """Counters; with ``?arrivals=N`` also the arrival times (monotonic s) of requests N+."""
        stats: dict[str, object] = {
            "requests": self.total_requests,
            "successes": self.total_successes,
            "max_in_flight": self.max_in_flight,
        }
        if "arrivals" in request.query:
            stats["arrivals"] = self.request_times[int(request.query["arrivals"] or 0) :]
        return web.json_response(stats)

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        return await self._handle(request, chat=True)

    async def _text(self, request: web.Request) -> web.StreamResponse:
        return await self._handle(request, chat=False)

    async def _handle(self, request: web.Request, *, chat: bool) -> web.StreamResponse:
        counters = self._counters
        with counters.lock:
            counters.in_flight += 1
            counters.max_in_flight = max(counters.max_in_flight, counters.in_flight)
        try:
            return await self._respond(request, chat=chat)
        finally:
            with counters.lock:
                counters.in_flight -= 1

    async def _respond(self, request: web.Request, *, chat: bool) -> web.StreamResponse:
        cfg, counters = self.config, self._counters
        auth = request.headers.get("Authorization", "")
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return _error(400, "invalid JSON body")
        prompt = _prompt_of(body, chat=chat)
        now = time.monotonic()
        with counters.lock:
            attempt = counters.calls[prompt]
            counters.calls[prompt] += 1
            counters.request_times.append(now)
            counters.headers_seen.append(auth)
        if cfg.api_key is not None and auth != f"Bearer {cfg.api_key}":
            # like some real providers, echo what was sent: the client must redact it
            given = auth.removeprefix("Bearer ")
            return _error(401, f"Incorrect API key provided: {given}", "invalid_request_error")
        if body.get("stream"):
            return _error(400, "streaming is not simulated")
        if int(body.get("n") or 1) != 1:
            return _error(400, "only n=1 is simulated")
        wait = self._rpm_wait(now)
        if wait is not None:
            return _error(
                429, "rate limit (rpm)", "rate_limit_exceeded", {"Retry-After": f"{wait:.3f}"}
            )
        rng = random.Random(_digest(cfg.seed, prompt, attempt))
        fault = rng.random()
        if attempt < cfg.fail_first_n:
            return _error(503, "warming up (fail_first_n)", "server_error")
        if attempt < cfg.rate_limit_first_n:
            return _error(
                429, "rate limit (first n)", "rate_limit_exceeded", _retry_after(cfg.retry_after_s)
            )
        edges = _cumulative(
            cfg.rate_429,
            cfg.rate_5xx,
            cfg.rate_timeout,
            cfg.rate_malformed,
            cfg.rate_empty,
            cfg.rate_trickle,
        )
        latency = max(0.0, cfg.latency_s + rng.uniform(-1, 1) * cfg.latency_jitter_s)
        if fault < edges[0]:
            return _error(429, "rate limit", "rate_limit_exceeded", _retry_after(cfg.retry_after_s))
        if fault < edges[1]:
            await asyncio.sleep(latency)
            return _error(rng.choice((500, 502, 503)), "upstream error", "server_error")
        if fault < edges[2]:
            await asyncio.sleep(cfg.timeout_s)
            return _error(504, "gateway timeout", "server_error")
        await asyncio.sleep(latency)
        if fault < edges[3]:
            return web.Response(
                status=200, text='{"id": "x", "choices": [{"mess', content_type="application/json"
            )
        answer = "" if fault < edges[4] else _truncate(cfg.responder(prompt), body)
        if cfg.reply_chars is not None:
            answer = _pad(answer or "x", cfg.reply_chars)
        model = str(body.get("model", "sim"))
        if cfg.echo_key:
            answer, model = key_echo(answer, model, auth)
        with counters.lock:
            counters.successes[prompt] += 1
            counters.success_times.append(time.monotonic())
        reply = _reply(prompt, answer, model, chat=chat)
        if edges[4] <= fault < edges[5]:
            return await _trickle(request, json.dumps(reply).encode(), cfg.trickle_interval_s)
        return web.json_response(reply)

    def _rpm_wait(self, now: float) -> float | None:
        """Seconds until a slot frees when the rpm window is full, else None (and record)."""
        if self.config.rpm is None:
            return None
        window = self._window
        while window and now - window[0] >= 60.0:
            window.popleft()
        if len(window) >= self.config.rpm:
            return max(0.001, 60.0 - (now - window[0]))
        window.append(now)
        return None
