"""Run many requests concurrently within each model's limits: cache first, then calls with
retries, backoff, AIMD concurrency, rate limits and fallbacks. Never raises for a failed call."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..lab import ModelConfig
from ..secrets import redact
from ._budget import Budget, CircuitBreaker, Usage
from ._cache import CacheMode, ResponseCache
from ._client import LiteLLMClient, LLMClient, ProviderError
from ._limits import AdaptiveGate, Limiter, RedisWindowLimiter, SlidingWindowLimiter
from ._types import Completion, GenerationRequest, GenerationResult

ResultCallback = Callable[[GenerationResult], None]
_log = logging.getLogger("llmlab_pipelines.engine")


@dataclass
class Progress:
    """Counts for progress bars and log lines."""

    total: int
    done: int = 0
    errors: int = 0
    cached: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def rate(self) -> float:
        """Finished requests per second so far."""
        elapsed = time.monotonic() - self.started
        return self.done / elapsed if elapsed > 0 else 0.0

    @property
    def eta_s(self) -> float | None:
        """Seconds left at the current rate."""
        return (self.total - self.done) / self.rate if self.rate > 0 else None

    def __str__(self) -> str:
        eta = f"{self.eta_s:.0f}s" if self.eta_s is not None else "?"
        return (
            f"{self.done}/{self.total} done ({self.cached} cached), {self.rate:.1f} req/s, "
            f"ETA {eta}, {self.errors} errors"
        )


class _ModelLane:
    """Everything that paces one model: the adaptive gate and its rate limiters."""

    def __init__(self, config: ModelConfig, redis_url: str | None) -> None:
        self.gate = AdaptiveGate(config.concurrency)
        self.requests: Limiter | None = None
        if config.rpm:
            self.requests = (
                RedisWindowLimiter(redis_url, _slug(config), config.rpm)
                if redis_url
                else SlidingWindowLimiter(config.rpm, 60.0)
            )
        self.tokens = SlidingWindowLimiter(config.tpm, 60.0, spacing=False) if config.tpm else None
        self.breaker = CircuitBreaker(
            config.model, config.breaker_threshold, config.breaker_cooldown_s
        )
        self.progress_at = time.monotonic()  # the last successful call (or the run's start)
        self.warned: set[str] = set()  # warnings already logged for this model


_loop_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None


def _engine_loop() -> asyncio.AbstractEventLoop:
    """The process-wide event loop of the engine, started on first use."""
    global _loop
    with _loop_lock:
        if _loop is None or _loop.is_closed():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="llmlab-engine", daemon=True).start()
            _loop = loop
        return _loop


def _slug(config: ModelConfig) -> str:
    return f"{config.api_base or 'default'}|{config.model}"


#: Failures that say the provider is unwell (not the request, not a rate limit).
_BREAKER_KINDS = frozenset({"server", "timeout", "connection", "malformed"})


def _estimate_cost(request: GenerationRequest) -> float:
    """A call's cost before it is made: prompt ~ 4 characters a token, the full max_tokens out."""
    from ._estimate import price

    return price(
        request.config, len(request.prompt) // 4 + 1, int(request.params.max_tokens or 256)
    )


def _estimate_tokens(request: GenerationRequest) -> int:
    return len(request.prompt) // 4 + 1 + int(request.params.max_tokens or 256)


class Engine:
    """Turns generation requests into results.

    Args:
        client: What makes the calls (default: litellm).
        backoff_base: First retry delay in seconds, doubled each attempt, with full jitter.
        backoff_cap: Longest delay between attempts.
        on_progress: Called with a :class:`Progress` after every result.
        cache: The response cache (and crash journal); None for none.
        cache_mode: ``use`` (read and write), ``refresh`` (write only: fresh samples), ``off``.
        redis_url: Share ``rpm`` limits across processes through this Redis.
        budget: Stop making calls before this spending cap is passed (cached answers are free).
        retry_after_cap: Longest wait a provider's ``Retry-After`` may impose (default:
            ``backoff_cap``); a longer one is cut, logged, and noted on the row.
        rate_limit_patience_s: Rate-limited calls are retried (whatever ``max_retries``) until
            the model has had no successful call for this long.
        max_output_chars: Longer replies are cut to this many characters, with a marker and
            ``output_truncated`` set.
        usage: Where the calls this engine makes are tallied (shared with other engines to
            count them together); default: the engine's own, ``engine.usage``.
    """

    def __init__(
        self,
        client: LLMClient | None = None,
        *,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        on_progress: Callable[[Progress], None] | None = None,
        cache: ResponseCache | None = None,
        cache_mode: CacheMode = "use",
        redis_url: str | None = None,
        budget: Budget | None = None,
        retry_after_cap: float | None = None,
        rate_limit_patience_s: float = 600.0,
        max_output_chars: int = 100_000,
        usage: Usage | None = None,
    ) -> None:
        self.client = client if client is not None else LiteLLMClient()
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.retry_after_cap = backoff_cap if retry_after_cap is None else retry_after_cap
        self.rate_limit_patience_s = rate_limit_patience_s
        self.max_output_chars = max_output_chars
        self.on_progress = on_progress
        self.cache = cache if cache_mode != "off" else None
        self.cache_mode = cache_mode
        self.redis_url = redis_url
        self.budget = budget
        self.usage = usage if usage is not None else Usage()
        self.lanes: dict[str, _ModelLane] = {}
        self._rng = random.Random(0)

    def run(
        self, requests: Sequence[GenerationRequest], on_result: ResultCallback | None = None
    ) -> list[GenerationResult]:
        """Synchronous :meth:`arun`, on the process's one engine event loop.

        One long-lived loop (in a daemon thread) serves every run in the process, so clients
        that keep per-loop state (HTTP pools, litellm's logging worker) are never orphaned.
        """
        future = asyncio.run_coroutine_threadsafe(self.arun(requests, on_result), _engine_loop())
        return future.result()

    async def arun(
        self, requests: Sequence[GenerationRequest], on_result: ResultCallback | None = None
    ) -> list[GenerationResult]:
        """Run every request; results come back in request order."""
        results: list[GenerationResult | None] = [None] * len(requests)
        progress = Progress(total=len(requests))
        keys = [r.cache_key for r in requests]
        hits = (
            self.cache.load(set(keys))
            if self.cache is not None and self.cache_mode == "use"
            else {}
        )
        pending: dict[str, list[int]] = {}
        leaders: dict[str, int] = {}  # identical requests in one run share one call
        followers: list[int] = []
        for index, request in enumerate(requests):
            hit = hits.get(keys[index])
            if hit is not None:
                results[index] = _from_cache(request, hit)
                self._report(results[index], progress, on_result, cached=True)  # type: ignore[arg-type]
            elif keys[index] in leaders:
                followers.append(index)
            else:
                leaders[keys[index]] = index
                pending.setdefault(request.model_name, []).append(index)
        try:
            workers = []
            for indices in pending.values():
                config = requests[indices[0]].config
                lane = self.lanes.setdefault(_slug(config), _ModelLane(config, self.redis_url))
                lane.progress_at = time.monotonic()
                queue = iter(indices)
                width = min(config.concurrency, len(indices))
                workers += [
                    self._worker(requests, keys, queue, results, progress, on_result, lane)
                    for _ in range(width)
                ]
            await asyncio.gather(*workers)
            for index in followers:
                leader = results[leaders[keys[index]]]
                assert leader is not None
                shared = dataclasses.replace(
                    leader,
                    item_id=requests[index].item_id,
                    repeat=requests[index].repeat,
                    cached=leader.ok,  # answered by the identical request's call, not paid again
                    attempts=0,
                )
                results[index] = shared
                self._report(shared, progress, on_result, cached=shared.cached)
        finally:
            if self.cache is not None:
                self.cache.close()
        return [r for r in results if r is not None]

    async def _worker(self, requests, keys, queue, results, progress, on_result, lane):  # type: ignore[no-untyped-def]
        for index in queue:
            result = await self.attempt(requests[index], lane)
            self.usage.add(
                calls=result.attempts,
                prompt_tokens=result.prompt_tokens,
                completion_tokens=result.completion_tokens,
                cost=result.cost_usd,
            )
            if result.ok and self.cache is not None:
                self.cache.put(keys[index], result.row())
            results[index] = result
            self._report(result, progress, on_result, cached=False)

    def _report(
        self,
        result: GenerationResult,
        progress: Progress,
        on_result: ResultCallback | None,
        *,
        cached: bool,
    ) -> None:
        progress.done += 1
        progress.cached += int(cached)
        progress.errors += 0 if result.ok else 1
        if on_result is not None:
            on_result(result)
        if self.on_progress is not None:
            self.on_progress(progress)

    def breakers(self) -> dict[str, dict[str, object]]:
        """Each model's breaker: state, times opened, recent events (for logs and metadata)."""
        return {
            slug: {
                "state": lane.breaker.state,
                "times_opened": lane.breaker.times_opened,
                "events": lane.breaker.events[-5:],
            }
            for slug, lane in self.lanes.items()
        }

    async def attempt(
        self, request: GenerationRequest, lane: _ModelLane | None = None
    ) -> GenerationResult:
        """One request with bounded retries, then its fallbacks; a final failure is a row."""
        start = time.perf_counter()
        lane = lane or _ModelLane(request.config, None)
        result = await self._try(request, lane, start)
        for name, config in request.fallbacks:
            if result.ok or result.error_type not in (
                "rate_limit",
                "server",
                "timeout",
                "connection",
                "malformed",
                "not_found",
                "circuit_open",
            ):
                break
            other = request.with_model(name, config)
            fallback_lane = self.lanes.setdefault(_slug(config), _ModelLane(config, self.redis_url))
            result = await self._try(other, fallback_lane, start, attempts=result.attempts)
        return result

    async def _try(
        self, request: GenerationRequest, lane: _ModelLane, start: float, attempts: int = 0
    ) -> GenerationResult:
        """Call until success, a permanent error, ``max_retries`` other failures, or (for rate
        limits, which are not failures) ``rate_limit_patience_s`` without progress."""
        tries = failures = 0
        capped = 0.0  # the longest Retry-After asked beyond the cap
        while True:
            tries += 1
            if lane.requests is not None:
                await lane.requests.acquire()
            if lane.tokens is not None:
                await lane.tokens.acquire(_estimate_tokens(request))
            if not lane.breaker.allow():
                error = ProviderError("circuit_open", lane.breaker.reason())
                return self._failed(request, error, attempts + tries - 1, start, capped)
            estimate = 0.0
            if self.budget is not None:
                estimate = _estimate_cost(request)
                if not self.budget.try_reserve(estimate):
                    lane.breaker.probing = False  # the probe was not spent
                    error = ProviderError("budget", self.budget.refusal(estimate))
                    return self._failed(request, error, attempts + tries - 1, start, capped)
            try:
                async with lane.gate:
                    completion = await self._call(request)
            except ProviderError as exc:
                if self.budget is not None:
                    self.budget.settle(estimate, 0.0)
                if exc.kind in _BREAKER_KINDS:
                    lane.breaker.failure()
                else:
                    lane.breaker.probing = False  # not the provider's health: probe again later
                if exc.kind == "rate_limit":
                    lane.gate.rate_limited()
                    stalled = time.monotonic() - lane.progress_at
                    if stalled >= self.rate_limit_patience_s:
                        error = ProviderError(
                            "rate_limit",
                            f"{exc} (still rate limited after {stalled:.0f}s without a "
                            f"successful call to {request.config.model}: rate_limit_patience_s "
                            f"is {self.rate_limit_patience_s:g}s)",
                        )
                        return self._failed(request, error, attempts + tries, start, capped)
                else:
                    failures += 1
                    if not exc.retryable or failures > request.config.max_retries:
                        return self._failed(request, exc, attempts + tries, start, capped)
                if exc.retry_after is not None and exc.retry_after > self.retry_after_cap:
                    capped = max(capped, exc.retry_after)
                    self._warn_capped(lane, request, exc.retry_after)
                await asyncio.sleep(self._delay(tries, exc.retry_after))
                continue
            except Exception as exc:  # a bug in a client must not lose the other rows
                if self.budget is not None:
                    self.budget.settle(estimate, 0.0)
                lane.breaker.probing = False
                error = ProviderError("other", f"{type(exc).__name__}: {exc}")
                return self._failed(request, error, attempts + tries, start, capped)
            if self.budget is not None:
                self.budget.settle(estimate, completion.cost_usd)
            lane.breaker.success()
            lane.gate.succeeded()
            lane.progress_at = time.monotonic()
            text, cut = self._cap_output(completion.text, lane, request)
            return GenerationResult(
                item_id=request.item_id,
                repeat=request.repeat,
                output=text,
                prompt_tokens=completion.prompt_tokens,
                completion_tokens=completion.completion_tokens,
                cost_usd=completion.cost_usd,
                latency_s=time.perf_counter() - start,
                attempts=attempts + tries,
                model=completion.model or request.config.model,
                cache_key=request.cache_key,
                finish_reason=completion.finish_reason,
                output_truncated=cut,
                retry_after_capped_s=capped,
            )

    async def _call(self, request: GenerationRequest) -> Completion:
        """One call with the model's ``timeout`` as a wall-clock deadline for the whole reply
        (an HTTP read timeout alone lets a server that trickles bytes hold a call for ever); the
        in-process model keeps its own, from when its worker starts the call."""
        if isinstance(self.client, LiteLLMClient) and self.client.keeps_own_deadline(request):
            return await self.client.complete(request)
        timeout = request.config.timeout
        deadline = asyncio.timeout(timeout)
        try:
            async with deadline:
                return await self.client.complete(request)
        except TimeoutError:
            if not deadline.expired():
                raise
            raise ProviderError(
                "timeout",
                f"no complete reply within {timeout:g}s (the model's `timeout`: a deadline for "
                "the whole call)",
            ) from None

    def _cap_output(
        self, text: str, lane: _ModelLane, request: GenerationRequest
    ) -> tuple[str, bool]:
        """The reply, cut to ``max_output_chars`` with a visible marker when longer."""
        if len(text) <= self.max_output_chars:
            return text, False
        if "truncated" not in lane.warned:
            lane.warned.add("truncated")
            _log.warning(
                "%s sent a %d-character reply to item %r; kept the first %d (max_output_chars); "
                "such rows have output_truncated set",
                request.config.model,
                len(text),
                request.item_id,
                self.max_output_chars,
            )
        marker = f"\n[llmlab: reply cut: {len(text):,} characters, kept {self.max_output_chars:,}]"
        return text[: self.max_output_chars] + marker, True

    def _warn_capped(self, lane: _ModelLane, request: GenerationRequest, asked: float) -> None:
        if "retry_after" in lane.warned:
            return
        lane.warned.add("retry_after")
        _log.warning(
            "%s asked to wait %.0fs (Retry-After); waiting at most %gs (retry_after_cap); "
            "such rows have retry_after_capped_s set",
            request.config.model,
            asked,
            self.retry_after_cap,
        )

    def _delay(self, attempts: int, retry_after: float | None) -> float:
        backoff = min(self.backoff_cap, self.backoff_base * 2 ** min(attempts - 1, 60))
        jittered = self._rng.uniform(0, backoff)
        if retry_after is None:
            return jittered
        return max(jittered, min(retry_after, self.retry_after_cap))

    @staticmethod
    def _failed(
        request: GenerationRequest,
        exc: ProviderError,
        attempts: int,
        start: float,
        capped: float = 0.0,
    ) -> GenerationResult:
        return GenerationResult(
            item_id=request.item_id,
            repeat=request.repeat,
            output=None,
            error=redact(str(exc))[:2000],
            error_type=exc.kind,
            latency_s=time.perf_counter() - start,
            attempts=attempts,
            model=request.config.model,
            cache_key=request.cache_key,
            retry_after_capped_s=capped,
        )


def _from_cache(request: GenerationRequest, row: dict[str, Any]) -> GenerationResult:
    return GenerationResult(
        item_id=request.item_id,
        repeat=request.repeat,
        output=row.get("output"),
        prompt_tokens=int(row.get("prompt_tokens") or 0),
        completion_tokens=int(row.get("completion_tokens") or 0),
        cost_usd=float(row.get("cost_usd") or 0.0),
        latency_s=float(row.get("latency_s") or 0.0),
        attempts=0,
        cached=True,
        model=str(row.get("model") or request.config.model),
        cache_key=request.cache_key,
        finish_reason=str(row.get("finish_reason") or ""),
        output_truncated=bool(row.get("output_truncated")),
    )
