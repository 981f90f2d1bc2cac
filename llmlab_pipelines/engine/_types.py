"""The generation engine's data: one request in, one result out."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from ..lab import GenerationParams, ModelConfig


@dataclass(frozen=True)
class GenerationRequest:
    """One call to make.

    Args:
        item_id: The dataset item.
        repeat: Which sample of the item (0-based), for repeats.
        prompt: The rendered prompt.
        model_name: The models.yaml entry's name.
        config: The models.yaml entry.
        params: The resolved sampling parameters.
    """

    item_id: str
    repeat: int
    prompt: str
    model_name: str
    config: ModelConfig
    params: GenerationParams

    @property
    def cache_key(self) -> str:
        """Content address of the response: model string, mode, parameters, prompt, repeat."""
        blob = json.dumps(
            [
                self.config.model,
                self.config.mode,
                self.config.api_base,
                self.config.extra,
                self.params.as_kwargs(),
                self.prompt,
                self.repeat,
            ],
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(blob.encode()).hexdigest()


@dataclass
class Completion:
    """What a provider answered."""

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    model: str = ""
    finish_reason: str = ""


@dataclass
class GenerationResult:
    """One row of the generations table."""

    item_id: str
    repeat: int
    output: str | None
    error: str | None = None
    error_type: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_s: float = 0.0
    attempts: int = 0
    cached: bool = False
    model: str = ""
    cache_key: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when the call produced an output."""
        return self.error is None

    def row(self) -> dict[str, Any]:
        """The result as a flat table row."""
        out = asdict(self)
        out.pop("extra")
        return out
