"""Run many requests concurrently: a bounded worker pool per model, retries with backoff."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import groupby

from ..secrets import redact
from ._client import LiteLLMClient, LLMClient, ProviderError
from ._types import GenerationRequest, GenerationResult

ResultCallback = Callable[[GenerationResult], None]


@dataclass
class Progress:
    """Counts for progress bars and log lines."""

    total: int
    done: int = 0
    errors: int = 0
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
            f"{self.done}/{self.total} done, {self.rate:.1f} req/s, ETA {eta}, {self.errors} errors"
        )


class Engine:
    """Turns generation requests into results; never raises for a failed call.

    Args:
        client: What makes the calls (default: litellm).
        backoff_base: First retry delay in seconds, doubled each attempt, with full jitter.
        backoff_cap: Longest delay between attempts.
        on_progress: Called with a :class:`Progress` after every result.
    """

    def __init__(
        self,
        client: LLMClient | None = None,
        *,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> None:
        self.client = client if client is not None else LiteLLMClient()
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.on_progress = on_progress
        self._rng = random.Random(0)

    def run(
        self, requests: Sequence[GenerationRequest], on_result: ResultCallback | None = None
    ) -> list[GenerationResult]:
        """Synchronous :meth:`arun` (in a helper thread when an event loop already runs)."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self.arun(requests, on_result))
        box: list[list[GenerationResult]] = []
        thread = threading.Thread(
            target=lambda: box.append(asyncio.run(self.arun(requests, on_result)))
        )
        thread.start()
        thread.join()
        return box[0]

    async def arun(
        self, requests: Sequence[GenerationRequest], on_result: ResultCallback | None = None
    ) -> list[GenerationResult]:
        """Run every request; results come back in request order."""
        results: list[GenerationResult | None] = [None] * len(requests)
        progress = Progress(total=len(requests))
        order = sorted(range(len(requests)), key=lambda i: requests[i].model_name)
        pools = []
        for _, group in groupby(order, key=lambda i: requests[i].model_name):
            indices = list(group)
            width = min(requests[indices[0]].config.concurrency, len(indices))
            queue = iter(indices)
            pools += [
                self._worker(requests, queue, results, progress, on_result) for _ in range(width)
            ]
        await asyncio.gather(*pools)
        return [r for r in results if r is not None]

    async def _worker(self, requests, queue, results, progress, on_result) -> None:  # type: ignore[no-untyped-def]
        for index in queue:
            result = await self.attempt(requests[index])
            results[index] = result
            progress.done += 1
            progress.errors += 0 if result.ok else 1
            if on_result is not None:
                on_result(result)
            if self.on_progress is not None:
                self.on_progress(progress)

    async def attempt(self, request: GenerationRequest) -> GenerationResult:
        """One request with bounded retries; a final failure becomes an error row."""
        start = time.perf_counter()
        attempts = 0
        while True:
            attempts += 1
            try:
                completion = await self.client.complete(request)
            except ProviderError as exc:
                if not exc.retryable or attempts > request.config.max_retries:
                    return self._failed(request, exc, attempts, start)
                await asyncio.sleep(self._delay(attempts, exc.retry_after))
                continue
            except Exception as exc:  # a bug in a client must not lose the other rows
                return self._failed(
                    request, ProviderError("other", f"{type(exc).__name__}: {exc}"), attempts, start
                )
            return GenerationResult(
                item_id=request.item_id,
                repeat=request.repeat,
                output=completion.text,
                prompt_tokens=completion.prompt_tokens,
                completion_tokens=completion.completion_tokens,
                cost_usd=completion.cost_usd,
                latency_s=time.perf_counter() - start,
                attempts=attempts,
                model=completion.model,
                cache_key=request.cache_key,
            )

    def _delay(self, attempts: int, retry_after: float | None) -> float:
        backoff = min(self.backoff_cap, self.backoff_base * 2 ** (attempts - 1))
        jittered = self._rng.uniform(0, backoff)
        return max(jittered, retry_after) if retry_after is not None else jittered

    @staticmethod
    def _failed(
        request: GenerationRequest, exc: ProviderError, attempts: int, start: float
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
        )
