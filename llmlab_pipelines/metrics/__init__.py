"""Deterministic metrics, registered by name. No Dagster here."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._builtin import (
    contains,
    exact_match,
    first_number,
    json_schema_match,
    json_valid,
    length_chars,
    normalize,
    numeric_match,
    regex_match,
    token_f1,
)
from ._score import MetricError, score_frame

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
    """

    name: str
    fn: MetricFn
    binary: bool = True
    needs_expected: bool = True
    source: str | None = None


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("exact_match", exact_match),
        Metric("numeric_match", numeric_match),
        Metric("contains", contains),
        Metric("token_f1", token_f1, binary=False),
        Metric("regex_match", regex_match, needs_expected=False),
        Metric("json_valid", json_valid, needs_expected=False),
        Metric("json_schema_match", json_schema_match, needs_expected=False),
        Metric("length", length_chars, binary=False, needs_expected=False),
        Metric("latency_s", _unused, binary=False, needs_expected=False, source="latency_s"),
        Metric("cost_usd", _unused, binary=False, needs_expected=False, source="cost_usd"),
    )
}


def load_user_metrics(folder: Path) -> dict[str, Metric]:
    """Every public function of ``metrics/*.py`` in a lab, registered by its name.

    A function ``def name(output, expected, record) -> float``; set ``name.binary = False`` for a
    graded score and ``name.needs_expected = False`` when items need no expected answer. Installed
    packages can add metrics through the ``llmlab.metrics`` entry point group too.

    Raises:
        LabError: naming the file (and line) that fails to import, or a name clash.
    """
    from ..lab._errors import LabError

    found: dict[str, Metric] = {}
    for entry in importlib.metadata.entry_points(group="llmlab.metrics"):
        fn = entry.load()
        found[entry.name] = _as_metric(entry.name, fn)
    for path in sorted(folder.glob("*.py")):
        if path.name.startswith("_"):
            continue
        name = f"llmlab_user_metrics.{path.stem}_{abs(hash(str(path.resolve())))}"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            line = exc.lineno if isinstance(exc, SyntaxError) else _line_in(exc, path)
            raise LabError.single(
                f"{folder.name}/{path.name}",
                f"cannot import: {type(exc).__name__}: {exc}",
                line=line,
            ) from None
        for attr, fn in vars(module).items():
            if attr.startswith("_") or not inspect.isfunction(fn) or fn.__module__ != name:
                continue
            if attr in METRICS:
                raise LabError.single(
                    f"{folder.name}/{path.name}",
                    f"metric {attr!r} would shadow the built-in one; rename it",
                    line=fn.__code__.co_firstlineno,
                )
            found[attr] = _as_metric(attr, fn)
    return found


def _as_metric(name: str, fn: MetricFn) -> Metric:
    return Metric(
        name,
        fn,
        binary=bool(getattr(fn, "binary", True)),
        needs_expected=bool(getattr(fn, "needs_expected", True)),
    )


def _line_in(exc: BaseException, path: Path) -> int | None:
    tb = exc.__traceback__
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == str(path):
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


__all__ = [
    "METRICS",
    "Metric",
    "MetricError",
    "MetricFn",
    "contains",
    "exact_match",
    "first_number",
    "json_schema_match",
    "json_valid",
    "length_chars",
    "load_user_metrics",
    "normalize",
    "numeric_match",
    "regex_match",
    "score_frame",
    "token_f1",
]
