"""Metadata other code reads back: the keys assets write and the readers of those keys.

An asset's metadata is shown in the UI, and some of it is also an API: the optimization
sensor chains rounds on ``<experiment>/finished``, and ``llmlab run`` reports unanswered items
and throughput from a generations materialization. Those keys are named here, once; writers and
readers both use these names. No Dagster import: values are read with ``.value`` when they are
Dagster metadata values and as they are otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

#: generations: rows whose call failed (their ``error`` column says why).
UNANSWERED = "unanswered"
#: generations: the candidate's label.
CANDIDATE = "candidate"
#: generations: rows (items x repeats), rows answered from the cache, provider calls made.
ROWS = "dagster/row_count"
CACHED_ROWS = "cached_rows"
PROVIDER_CALLS = "provider_calls"
#: generations: tokens, the generation speed of answered calls, and the cost of every row.
PROMPT_TOKENS = "prompt_tokens"
COMPLETION_TOKENS = "completion_tokens"
TOKENS_PER_S = "tokens_per_s"
COST_USD = "cost_usd"
#: what the calls made now cost (cached answers are free)
COST_USD_SPENT_NOW = "cost_usd_spent_now"
#: prompt_optimization, per experiment: False while rounds remain.
FINISHED = "finished"


def experiment_key(experiment: str, name: str) -> str:
    """The key of one experiment's value in a multi-experiment asset: ``<experiment>/<name>``."""
    return f"{experiment}/{name}"


def value_of(metadata: Mapping[str, object], key: str, default: object = None) -> object:
    """The plain value under ``key`` (a Dagster metadata value's ``.value``), or ``default``."""
    if key not in metadata:
        return default
    found = metadata[key]
    return getattr(found, "value", found)


def per_experiment(
    metadata: Mapping[str, object], names: Iterable[str]
) -> dict[str, dict[str, object]]:
    """``experiment -> {name: value}`` from ``<experiment>/<name>`` keys, for ``names`` only."""
    wanted = set(names)
    out: dict[str, dict[str, object]] = {}
    for key in metadata:
        experiment, _, name = key.partition("/")
        if experiment in wanted and name:
            out.setdefault(experiment, {})[name] = value_of(metadata, key)
    return out


def unfinished(metadata: Mapping[str, object]) -> list[str]:
    """The experiments whose ``<experiment>/finished`` is False, sorted."""
    return sorted(
        key.rpartition("/")[0]
        for key in metadata
        if key.endswith("/" + FINISHED) and value_of(metadata, key) is False
    )


@dataclass(frozen=True)
class GenerationSummary:
    """What one generations materialization did, as ``llmlab run`` prints it."""

    candidate: str
    rows: int
    cached: int
    calls: int
    completion_tokens: int
    tokens_per_s: float
    cost_usd: float
    unanswered: int
    paid_usd: float = 0.0

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, object]) -> GenerationSummary:
        """Read from a generations materialization's metadata (missing keys read as 0)."""

        def number(key: str) -> float:
            return float(value_of(metadata, key, 0) or 0)  # type: ignore[arg-type]

        return cls(
            candidate=str(value_of(metadata, CANDIDATE, "")),
            rows=int(number(ROWS)),
            cached=int(number(CACHED_ROWS)),
            calls=int(number(PROVIDER_CALLS)),
            completion_tokens=int(number(COMPLETION_TOKENS)),
            tokens_per_s=number(TOKENS_PER_S),
            cost_usd=number(COST_USD),
            unanswered=int(number(UNANSWERED)),
            paid_usd=number(COST_USD_SPENT_NOW),
        )
