"""Scoring a generations table with named metrics."""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd


class MetricError(RuntimeError):
    """A metric function that raised, named with the item it raised on."""


def score_frame(
    generations: pd.DataFrame,
    records: list[dict[str, Any]],
    metric_names: list[str],
    registry: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """Add one column per metric to a generations table.

    A failed generation (no output) scores 0: not answering is not answering correctly; the
    error rate is reported beside every score.

    Raises:
        MetricError: when a metric raises, or returns a value the statistics cannot use (inf,
            NaN, or outside [0, 1] for a binary metric), naming the metric and the item.
    """
    from ._registry import METRICS

    registry = METRICS if registry is None else registry
    by_id = {r["id"]: r for r in records}
    out = generations.copy()
    out["expected"] = [_expected(by_id.get(i)) for i in out["item_id"]]
    for name in metric_names:
        metric = registry[name]
        if metric.source is not None:  # read from the call's own accounting
            out[name] = out[metric.source].astype(float)
            continue
        values = []
        for item_id, output in zip(out["item_id"], out["output"], strict=True):
            record = by_id.get(item_id, {})
            if output is None or (metric.needs_expected and record.get("expected") is None):
                values.append(0.0)
                continue
            try:
                value = float(metric.fn(str(output), record.get("expected"), record))
            except Exception as exc:
                raise MetricError(
                    f"metric {name!r} raised on item {item_id!r}: {type(exc).__name__}: {exc}"
                ) from exc
            values.append(_checked(name, item_id, value, binary=metric.binary))
        out[name] = values
    return out


def _checked(name: str, item_id: Any, value: float, *, binary: bool) -> float:
    """The value, or a MetricError when no mean, CI or p-value could honestly use it."""
    if not math.isfinite(value):
        raise MetricError(
            f"metric {name!r} returned {value} on item {item_id!r}: scores must be finite"
        )
    if binary and not 0.0 <= value <= 1.0:
        raise MetricError(
            f"metric {name!r} returned {value} on item {item_id!r}: a binary metric must return "
            "a value in [0, 1] (set binary = False on the function for a graded score)"
        )
    return value


def _expected(record: dict[str, Any] | None) -> str | None:
    if record is None or record.get("expected") is None:
        return None
    value = record["expected"]
    if isinstance(value, (list, dict)):  # any-of answers: shown as JSON, not Python's repr
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)
