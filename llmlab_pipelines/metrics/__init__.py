"""Deterministic metrics, registered by name. No Dagster here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ._builtin import contains, exact_match, first_number, normalize, numeric_match
from ._score import MetricError, score_frame

MetricFn = Callable[[str, Any, dict[str, Any]], float]


@dataclass(frozen=True)
class Metric:
    """A named metric.

    Args:
        name: Its name in experiment files.
        fn: ``fn(output, expected, record) -> float``.
        binary: True when the metric only takes 0 or 1 (the statistics pick their test by it).
        needs_expected: True when items without ``expected`` can't be scored.
    """

    name: str
    fn: MetricFn
    binary: bool = True
    needs_expected: bool = True


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("exact_match", exact_match),
        Metric("numeric_match", numeric_match),
        Metric("contains", contains),
    )
}

__all__ = [
    "METRICS",
    "Metric",
    "MetricError",
    "MetricFn",
    "contains",
    "exact_match",
    "first_number",
    "normalize",
    "numeric_match",
    "score_frame",
]
