"""The generation engine as a Dagster resource."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Literal

import dagster as dg
from pydantic import Field

from ..engine import Budget, Engine, LiteLLMClient, LLMClient, Progress, ResponseCache
from ..settings import get_settings
from .artifacts import artifact_root


class LLMResource(dg.ConfigurableResource):
    """Calls models through litellm with the engine's limits, retries, cache and accounting."""

    backoff_base: float = Field(default=0.5, ge=0, description="First retry delay (s)")
    backoff_cap: float = Field(default=30.0, ge=0, description="Longest retry delay (s)")
    retry_after_cap: float | None = Field(
        default=None,
        ge=0,
        description="Longest wait a provider's Retry-After may impose (s); default: backoff_cap",
    )
    rate_limit_patience_s: float = Field(
        default=600.0,
        gt=0,
        description="Rate-limited calls are retried until a model has had no successful call "
        "for this long (s); other errors get the model's max_retries",
    )
    max_output_chars: int = Field(
        default=100_000,
        ge=1,
        description="Longer replies are stored cut to this many characters, marked, with "
        "output_truncated set",
    )
    max_error_rate: float = Field(
        default=0.2, ge=0, le=1, description="Error rate above which the generations check fails"
    )
    cache: Literal["use", "refresh", "off"] = Field(
        default="use",
        description="use: reuse cached answers; refresh: call again (fresh samples) and store; "
        "off: neither. The cache is also the crash journal that makes re-runs resume.",
    )
    cache_path: str | None = Field(
        default=None, description="Default: <LLMLAB_ARTIFACTS>/cache (a folder or s3:// URL)"
    )
    redis_url: str | None = Field(
        default=None,
        description="Share rpm limits across processes (e.g. redis://127.0.0.1:6379/0); "
        "default: limits hold within each run",
    )
    progress_bar: bool = Field(default=False, description="Draw a terminal progress bar")
    budget_usd: float | None = Field(
        default=None,
        description="The most this run may spend (on top of budgets.yaml and budget_usd in the "
        "experiment: the tightest wins)",
    )

    def client(self) -> LLMClient:
        """The client that makes the calls; subclasses swap in another."""
        return LiteLLMClient()

    def response_cache(self) -> ResponseCache:
        """The cache folder beside the artifacts (rows an unreachable object store refused
        wait in a local spill folder, keyed by the store's URL)."""
        root = (
            artifact_root(self.cache_path, {})
            if self.cache_path
            else artifact_root(None, {}) / "cache"
        )
        key = hashlib.sha256(str(root).encode()).hexdigest()[:16]
        return ResponseCache(root, spill=get_settings().home / "cache-spill" / key)

    def engine(
        self,
        on_progress: Callable[[Progress], None] | None = None,
        budget: Budget | None = None,
    ) -> Engine:
        """A ready engine."""
        return Engine(
            self.client(),
            backoff_base=self.backoff_base,
            backoff_cap=self.backoff_cap,
            on_progress=on_progress,
            cache=None if self.cache == "off" else self.response_cache(),
            cache_mode=self.cache,
            redis_url=self.redis_url,
            budget=budget,
            retry_after_cap=self.retry_after_cap,
            rate_limit_patience_s=self.rate_limit_patience_s,
            max_output_chars=self.max_output_chars,
        )
