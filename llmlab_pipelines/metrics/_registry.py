"""The registry of built-in metrics: a name -> :class:`Metric` mapping. No Dagster here."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ._builtin import (
    contains,
    exact_match,
    json_schema_match,
    json_valid,
    length_chars,
    numeric_match,
    regex_match,
    token_f1,
)
from ._choice import multiple_choice

MetricFn = Callable[[str, Any, dict[str, Any]], float]


def _unused(output: str, expected: Any, record: dict[str, Any]) -> float:
    raise AssertionError("read from the generations table")


@dataclass(frozen=True)
class Metric:
    """A named metric.

    Args:
        name: Its name in experiment files.
        fn: ``fn(output, expected, record) -> float``.
        binary: True when the metric only takes 0 or 1 (the statistics pick their test by it).
        needs_expected: True when items without ``expected`` can't be scored.
        source: Read this generations column instead of calling ``fn`` (latency, cost).
        options: The options of a metric entry (``{numeric_match: {extract: last}}``), sorted.
    """

    name: str
    fn: MetricFn
    binary: bool = True
    needs_expected: bool = True
    source: str | None = None
    options: tuple[tuple[str, Any], ...] = ()


def any_of(fn: MetricFn) -> MetricFn:
    """``fn``, scoring a list of expected answers (SQuAD's ``answers.text``) by the best one."""

    @functools.wraps(fn)  # its source and name stay the metric's (fingerprints read them)
    def scored(output: str, expected: Any, record: dict[str, Any]) -> float:
        if isinstance(expected, (list, tuple)):
            return max((float(fn(output, e, record)) for e in expected), default=0.0)
        return fn(output, expected, record)

    return scored


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("exact_match", any_of(exact_match)),
        Metric("numeric_match", any_of(numeric_match)),
        Metric("contains", any_of(contains)),
        Metric("token_f1", any_of(token_f1), binary=False),
        Metric("multiple_choice", any_of(multiple_choice)),
        Metric("regex_match", regex_match, needs_expected=False),
        Metric("json_valid", json_valid, needs_expected=False),
        Metric("json_schema_match", json_schema_match, needs_expected=False),
        Metric("length", length_chars, binary=False, needs_expected=False),
        Metric("latency_s", _unused, binary=False, needs_expected=False, source="latency_s"),
        Metric("cost_usd", _unused, binary=False, needs_expected=False, source="cost_usd"),
    )
}
