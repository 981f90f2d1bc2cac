"""Run many requests concurrently within each model's limits: cache first, then calls with
retries, backoff, AIMD concurrency, rate limits and fallbacks. Never raises for a failed call."""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from ..lab import ModelConfig
from ._budget import Budget, Usage
from ._cache import CacheMode, ResponseCache
from ._client import LiteLLMClient, LLMClient, ProviderError
from ._lane import BREAKER_KINDS, FALLBACK_KINDS, ModelLane, estimate_cost, lane_key
from ._progress import Progress
from ._results import cached_result, completed_result, failed_result, shared_result
from ._types import Completion, GenerationRequest, GenerationResult

__all__ = ["Engine", "Progress", "ResultCallback"]

ResultCallback = Callable[[GenerationResult], None]
_log = logging.getLogger("llmlab_pipelines.engine")

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


@dataclass
class _Tally:
    """One request's attempts on one model so far."""

    before: int  # attempts already made on other models (before a fallback)
    tries: int = 0
    failures: int = 0  # failures other than rate limits
    capped: float = 0.0  # the longest Retry-After asked beyond the cap

    @property
    def attempts(self) -> int:
        """Attempts made in all, this one included."""
        return self.before + self.tries


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
        self.lanes: dict[str, ModelLane] = {}
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
                results[index] = cached = cached_result(request, hit)
                self._report(cached, progress, on_result, cached=True)
            elif keys[index] in leaders:
                followers.append(index)
            else:
                leaders[keys[index]] = index
                pending.setdefault(request.model_name, []).append(index)
        try:
            workers = []
            for indices in pending.values():
                config = requests[indices[0]].config
                lane = self._lane(config)
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
                results[index] = shared = shared_result(leader, requests[index])
                self._report(shared, progress, on_result, cached=shared.cached)
        finally:
            if self.cache is not None:
                self.cache.close()
        return [r for r in results if r is not None]

    def _lane(self, config: ModelConfig) -> ModelLane:
        """The engine's lane for a model (made on first use)."""
        return self.lanes.setdefault(lane_key(config), ModelLane(config, self.redis_url))

    async def _worker(
        self,
        requests: Sequence[GenerationRequest],
        keys: list[str],
        queue: Iterator[int],
        results: list[GenerationResult | None],
        progress: Progress,
        on_result: ResultCallback | None,
        lane: ModelLane,
    ) -> None:
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
        """Each model's breaker: state, times opened, recent events, and the first error of its
        current run of failures (for logs and metadata)."""
        return {
            slug: {
                "state": lane.breaker.state,
                "times_opened": lane.breaker.times_opened,
                "events": lane.breaker.events[-5:],
                "first_error": lane.breaker.first_error,
            }
            for slug, lane in self.lanes.items()
        }

    async def attempt(
        self, request: GenerationRequest, lane: ModelLane | None = None
    ) -> GenerationResult:
        """One request with bounded retries, then its fallbacks; a final failure is a row."""
        start = time.perf_counter()
        lane = lane or ModelLane(request.config, None)
        result = await self._try(request, lane, start)
        for name, config in request.fallbacks:
            if result.ok or result.error_type not in FALLBACK_KINDS:
                break
            other = request.with_model(name, config)
            result = await self._try(other, self._lane(config), start, attempts=result.attempts)
        return result

    async def _try(
        self, request: GenerationRequest, lane: ModelLane, start: float, attempts: int = 0
    ) -> GenerationResult:
        """Call until success, a permanent error, ``max_retries`` other failures, or (for rate
        limits, which are not failures) ``rate_limit_patience_s`` without progress."""
        tally = _Tally(attempts)
        while True:
            tally.tries += 1
            refused, estimate = await self._admit(request, lane)
            if refused is not None:
                return failed_result(request, refused, tally.attempts - 1, start, tally.capped)
            try:
                async with lane.gate:
                    completion = await self._call(request)
            except ProviderError as exc:
                self._settle(estimate, 0.0)
                final = self._after_error(exc, request, lane, tally)
                if final is not None:
                    return failed_result(request, final, tally.attempts, start, tally.capped)
                await asyncio.sleep(self._delay(tally.tries, exc.retry_after))
                continue
            except Exception as exc:  # a bug in a client must not lose the other rows
                self._settle(estimate, 0.0)
                lane.breaker.probing = False
                error = ProviderError("other", f"{type(exc).__name__}: {exc}")
                return failed_result(request, error, tally.attempts, start, tally.capped)
            self._settle(estimate, completion.cost_usd)
            return self._succeeded(request, completion, lane, start, tally)

    async def _admit(
        self, request: GenerationRequest, lane: ModelLane
    ) -> tuple[ProviderError | None, float]:
        """Wait for the model's rate limits, then ask its breaker and the budget: why the call
        may not be made (or None), and the cost reserved for it."""
        await lane.wait_for_limits(request)
        if not lane.breaker.allow():
            return ProviderError("circuit_open", lane.breaker.reason()), 0.0
        if self.budget is None:
            return None, 0.0
        estimate = estimate_cost(request)
        if not self.budget.try_reserve(estimate):
            lane.breaker.probing = False  # the probe was not spent
            return ProviderError("budget", self.budget.refusal(estimate)), 0.0
        return None, estimate

    def _settle(self, estimate: float, actual: float) -> None:
        if self.budget is not None:
            self.budget.settle(estimate, actual)

    def _after_error(
        self, exc: ProviderError, request: GenerationRequest, lane: ModelLane, tally: _Tally
    ) -> ProviderError | None:
        """Count a failed call: the error the request ends with, or None to try again."""
        if exc.kind in BREAKER_KINDS:
            lane.breaker.failure(str(exc))
        else:
            lane.breaker.probing = False  # not the provider's health: probe again later
        if exc.kind == "rate_limit":
            lane.gate.rate_limited()
            stalled = time.monotonic() - lane.progress_at
            if stalled >= self.rate_limit_patience_s:
                return ProviderError(
                    "rate_limit",
                    f"{exc} (still rate limited after {stalled:.0f}s without a "
                    f"successful call to {request.config.model}: rate_limit_patience_s "
                    f"is {self.rate_limit_patience_s:g}s)",
                )
        else:
            tally.failures += 1
            if not exc.retryable or tally.failures > request.config.max_retries:
                return exc
        if exc.retry_after is not None and exc.retry_after > self.retry_after_cap:
            tally.capped = max(tally.capped, exc.retry_after)
            self._warn_capped(lane, request, exc.retry_after)
        return None

    def _succeeded(
        self,
        request: GenerationRequest,
        completion: Completion,
        lane: ModelLane,
        start: float,
        tally: _Tally,
    ) -> GenerationResult:
        lane.breaker.success()
        lane.gate.succeeded()
        lane.progress_at = time.monotonic()
        text, cut = self._cap_output(completion.text, lane, request)
        return completed_result(request, completion, text, cut, start, tally.attempts, tally.capped)

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
        self, text: str, lane: ModelLane, request: GenerationRequest
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

    def _warn_capped(self, lane: ModelLane, request: GenerationRequest, asked: float) -> None:
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
