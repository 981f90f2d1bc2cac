"""Metric entries with options: ``metrics: [exact_match, {numeric_match: {extract: last}}]``.

An entry is a metric's name, or a mapping of one name to its options:

- ``extract``: what of the reply is compared (:mod:`._extract`): ``first`` / ``last`` number,
  ``final_answer`` (chain of thought) or ``regex:<pattern>``; for the metrics that compare the
  reply with the expected answer (:data:`EXTRACTING`).
- ``name``: the score's column (default: the metric's name), to use one metric twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._extract import Extractor, extractor
from ._registry import Metric, MetricFn

#: the built-in metrics that take ``extract``
EXTRACTING = frozenset({"exact_match", "numeric_match", "contains", "token_f1", "multiple_choice"})
ENTRY_SHAPE = (
    "a metric is a name (exact_match) or one name with its options "
    "({numeric_match: {extract: last}})"
)


class MetricOptionError(ValueError):
    """A metric entry whose options can't be used; the message says why and what is allowed."""


def entry_parts(entry: Any) -> tuple[str, str, dict[str, Any]]:
    """``(column, metric, options)`` of one entry of an experiment's ``metrics:``.

    Raises:
        MetricOptionError: the entry is neither a name nor ``{name: {options}}``.
    """
    if isinstance(entry, str):
        return entry, entry, {}
    if isinstance(entry, Mapping) and len(entry) == 1:
        ((metric, options),) = entry.items()
        if isinstance(metric, str) and (options is None or isinstance(options, Mapping)):
            options = dict(options or {})
            column = options.pop("name", metric)
            if not isinstance(column, str) or not column:
                raise MetricOptionError(f"{metric}: name: give the score's column a name")
            return column, metric, options
    raise MetricOptionError(ENTRY_SHAPE)


def check_columns(entries: Any) -> None:
    """Refuse an entry with options whose column another entry of the list also uses.

    Raises:
        MetricOptionError: naming the column and how to give the entry its own.
    """
    if not isinstance(entries, list):
        return
    columns = []
    for entry in entries:
        try:
            columns.append((entry_parts(entry)[0], not isinstance(entry, str)))
        except MetricOptionError:
            continue  # reported at its own index
    names = [column for column, _ in columns]
    for column, with_options in columns:
        if with_options and names.count(column) > 1:
            raise MetricOptionError(
                f"{column!r} appears twice; give the one with options a `name:` "
                f"({{{column}: {{extract: last, name: {column}_last}}}})"
            )


def configure_metric(column: str, metric: Metric, options: Mapping[str, Any]) -> Metric:
    """``metric`` set up with an entry's options, scoring into ``column``.

    Raises:
        MetricOptionError: an option the metric does not take, or a bad value, said plainly.
    """
    allowed = ["extract"] if metric.name in EXTRACTING else []
    for key in options:
        if key not in allowed:
            takes = f"options: {', '.join(allowed)}, name" if allowed else "it takes only name"
            raise MetricOptionError(f"{metric.name}: unknown option {key!r} ({takes})")
    fn: MetricFn = metric.fn
    if "extract" in options:
        kind = options["extract"]
        if not isinstance(kind, str):
            raise MetricOptionError(f"{metric.name}: extract: give one kind as text")
        try:
            fn = Extracting(fn, extractor(kind), kind)
        except ValueError as exc:
            raise MetricOptionError(f"{metric.name}: {exc}") from None
    return Metric(
        column,
        fn,
        binary=metric.binary,
        needs_expected=metric.needs_expected,
        source=metric.source,
        options=tuple(sorted((str(k), v) for k, v in {"metric": metric.name, **options}.items())),
    )


class Extracting:
    """A metric scoring the answer extracted from the reply; none found scores 0."""

    def __init__(self, fn: MetricFn, extract: Extractor, kind: str) -> None:
        self.fn, self.extract, self.kind = fn, extract, kind
        # a stable name with the option: what a fingerprint of the metric reads
        self.__name__ = self.__qualname__ = f"{getattr(fn, '__name__', 'metric')}[extract={kind}]"

    def __repr__(self) -> str:
        return self.__qualname__

    def __call__(self, output: str, expected: Any, record: dict[str, Any]) -> float:
        answer = self.extract(output)
        return 0.0 if answer is None else float(self.fn(answer, expected, record))
