"""What paces one model in the engine: its concurrency gate, rate limiters and circuit breaker,
and the estimates a call is admitted on."""

from __future__ import annotations

import time

from ..lab import ModelConfig
from ._budget import CircuitBreaker
from ._limits import AdaptiveGate, Limiter, RedisWindowLimiter, SlidingWindowLimiter
from ._types import GenerationRequest

#: Failures that say the provider is unwell (not the request, not a rate limit).
BREAKER_KINDS = frozenset({"server", "timeout", "connection", "malformed"})

#: Failures after which a request's fallback models are tried.
FALLBACK_KINDS = frozenset(
    {"rate_limit", "server", "timeout", "connection", "malformed", "not_found", "circuit_open"}
)


class ModelLane:
    """Everything that paces one model: the adaptive gate and its rate limiters.

    Args:
        config: The models.yaml entry.
        redis_url: Share the ``rpm`` limit across processes through this Redis (None: not).
    """

    def __init__(self, config: ModelConfig, redis_url: str | None) -> None:
        self.gate = AdaptiveGate(config.concurrency)
        self.requests: Limiter | None = None
        if config.rpm:
            self.requests = (
                RedisWindowLimiter(redis_url, lane_key(config), config.rpm)
                if redis_url
                else SlidingWindowLimiter(config.rpm, 60.0)
            )
        self.tokens = SlidingWindowLimiter(config.tpm, 60.0, spacing=False) if config.tpm else None
        self.breaker = CircuitBreaker(
            config.model, config.breaker_threshold, config.breaker_cooldown_s
        )
        self.progress_at = time.monotonic()  # the last successful call (or the run's start)
        self.warned: set[str] = set()  # warnings already logged for this model

    async def wait_for_limits(self, request: GenerationRequest) -> None:
        """Wait until the model's request and token limits let ``request`` go."""
        if self.requests is not None:
            await self.requests.acquire()
        if self.tokens is not None:
            await self.tokens.acquire(estimate_tokens(request))


def lane_key(config: ModelConfig) -> str:
    """The name one model's lane (and its shared Redis limit) goes by."""
    return f"{config.api_base or 'default'}|{config.model}"


def estimate_cost(request: GenerationRequest) -> float:
    """A call's cost before it is made: prompt ~ 4 characters a token, the full max_tokens out."""
    from ._estimate import price

    return price(
        request.config, len(request.prompt) // 4 + 1, int(request.params.max_tokens or 256)
    )


def estimate_tokens(request: GenerationRequest) -> int:
    """A call's tokens before it is made (prompt ~ 4 characters a token, plus max_tokens)."""
    return len(request.prompt) // 4 + 1 + int(request.params.max_tokens or 256)
