"""The generation engine as a Dagster resource."""

from __future__ import annotations

from collections.abc import Callable

import dagster as dg
from pydantic import Field

from ..engine import Engine, LiteLLMClient, LLMClient, Progress


class LLMResource(dg.ConfigurableResource):
    """Calls models through litellm with the engine's concurrency, retries and accounting."""

    backoff_base: float = Field(default=0.5, ge=0, description="First retry delay (s)")
    backoff_cap: float = Field(default=30.0, ge=0, description="Longest retry delay (s)")
    max_error_rate: float = Field(
        default=0.2, ge=0, le=1, description="Error rate above which the generations check fails"
    )

    def client(self) -> LLMClient:
        """The client that makes the calls; subclasses swap in another."""
        return LiteLLMClient()

    def engine(self, on_progress: Callable[[Progress], None] | None = None) -> Engine:
        """A ready engine."""
        return Engine(
            self.client(),
            backoff_base=self.backoff_base,
            backoff_cap=self.backoff_cap,
            on_progress=on_progress,
        )
