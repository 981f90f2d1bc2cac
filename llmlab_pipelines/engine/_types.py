"""The generation engine's data: one request in, one result out."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from functools import cached_property
from typing import Any

from ..lab import GenerationParams, ModelConfig
from ..secrets import redact, redact_values


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
        fallbacks: Models (name, entry) tried in order when this one keeps failing.
    """

    item_id: str
    repeat: int
    prompt: str
    model_name: str
    config: ModelConfig
    params: GenerationParams
    fallbacks: tuple[tuple[str, ModelConfig], ...] = ()

    def with_model(self, name: str, config: ModelConfig) -> GenerationRequest:
        """The same request sent to another model (a fallback); the cache key stays the
        original's, so a re-run finds the answer whichever model gave it."""
        return GenerationRequest(
            self.item_id,
            self.repeat,
            self.prompt,
            name,
            config,
            self.params,
            (),
            _key=self.cache_key,
        )

    _key: str | None = field(default=None, repr=False, compare=False)

    @cached_property
    def cache_key(self) -> str:
        """Content address of the response: model string, mode, parameters, prompt, repeat."""
        if self._key is not None:
            return self._key
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

    def __post_init__(self) -> None:
        # where replies enter: a provider (or proxy) that echoes the key must not get it stored
        self.text = redact_values(self.text) if isinstance(self.text, str) else self.text
        self.model = redact(self.model) if isinstance(self.model, str) else self.model


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
    finish_reason: str = ""
    output_truncated: bool = False  # the reply passed max_output_chars and was cut (marked)
    retry_after_capped_s: float = 0.0  # longest Retry-After asked beyond the cap (0: none)
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


#: The generations table's columns, in order (every field of a result but ``extra``).
RESULT_COLUMNS = tuple(f.name for f in fields(GenerationResult) if f.name != "extra")


def result_columns(results: Sequence[GenerationResult]) -> dict[str, list[Any]]:
    """The results as columns (what ``[r.row() for r in results]`` holds, without a dict a row).

    A ``DataFrame`` made from these equals one made from the rows, at a fraction of the peak
    memory for a large partition.
    """
    return {name: [getattr(r, name) for r in results] for name in RESULT_COLUMNS}
