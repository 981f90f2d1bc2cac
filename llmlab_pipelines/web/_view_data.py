"""The results explorer's queries: pure polars over the per-candidate score frames.

A *matrix* is one row per item (and repeat) with, for each candidate ``i``, its output
(``o{i}``), error (``e{i}``), score on the ranking metric (``s{i}``), whether it failed
(``f{i}``: an error, or a score below :data:`PASS`) and whether a judge and a deterministic
metric disagree on it (``jm{i}``); per judge and metric pair, whether they disagree for any
candidate (``judge_metric:<judge>|<metric>``). :func:`run_query` filters, searches, sorts and
slices it; nothing here knows about files or HTTP.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any, Literal

import polars as pl

#: A score at or above this passes (0/1 metrics: 1 passes; continuous ones are shaded too).
PASS = 0.5
#: Columns a generation row carries; every other numeric column of ``scores`` is a metric.
GENERATION_COLUMNS = frozenset(
    {
        "item_id", "repeat", "output", "error", "error_type", "prompt_tokens",
        "completion_tokens", "cost_usd", "latency_s", "attempts", "cached", "model",
        "cache_key", "finish_reason", "output_truncated", "retry_after_capped_s", "prompt",
        "expected",
    }
)  # fmt: skip
#: Column prefix of "judge | metric" disagreement flags: ``judge_metric:grader|contains``.
PAIR = "judge_metric:"
FILTERS = ("all", "failures", "disagree", "judge_metric", "errors")
Filter = Literal["all", "failures", "disagree", "judge_metric", "errors"]
KEYS = ["item_id", "repeat"]


def metric_columns(frame: pl.DataFrame) -> list[str]:
    """The metric columns of a scores frame: numeric, and not a generation column."""
    return [
        name
        for name, dtype in frame.schema.items()
        if name not in GENERATION_COLUMNS and (dtype.is_numeric() or dtype == pl.Boolean)
    ]


def _text(name: str) -> pl.Expr:
    return pl.col(name).cast(pl.String) if name else pl.lit(None, dtype=pl.String)


def _passes(column: str) -> pl.Expr:
    return pl.col(column).cast(pl.Float64) >= PASS


def _candidate_columns(
    frame: pl.DataFrame, i: int, metric: str | None, judge_cols: set[str]
) -> pl.DataFrame:
    """One candidate's slice of the matrix: output, error, score, failed, judge-vs-metric."""
    names = frame.columns
    metrics = metric_columns(frame)
    score = metric if metric in metrics else (metrics[0] if metrics else None)
    score_expr = (
        pl.col(score).cast(pl.Float64).fill_nan(None) if score else pl.lit(None, dtype=pl.Float64)
    )
    error = _text("error" if "error" in names else "")
    judges = [c for c in metrics if c in judge_cols]
    deterministic = [c for c in metrics if c not in judge_cols]
    splits = {
        f"{PAIR}{j}|{d}": (_passes(j) != _passes(d)).fill_null(False)
        for j in judges
        for d in deterministic
    }
    disagree = pl.any_horizontal(splits.values()) if splits else pl.lit(False)
    return frame.select(
        *KEYS,
        _text("output" if "output" in names else "").alias(f"o{i}"),
        error.alias(f"e{i}"),
        score_expr.alias(f"s{i}"),
        (error.is_not_null() | (score_expr < PASS).fill_null(False)).alias(f"f{i}"),
        disagree.alias(f"jm{i}"),
        *(split.alias(f"{name}@{i}") for name, split in splits.items()),
    )


def build_matrix(
    frames: list[pl.DataFrame],
    inputs: pl.DataFrame | None = None,
    *,
    metric: str | None = None,
    judge_cols: set[str] | frozenset[str] = frozenset(),
) -> pl.DataFrame:
    """Items x candidates, sorted by item, with the columns the filters use.

    Args:
        frames: Each candidate's ``scores`` (or ``generations``) rows, in column order.
        inputs: ``item_id``, ``input`` (and optionally ``expected``) per dataset item.
        metric: The ranking metric; a candidate without it shows its first metric.
        judge_cols: Metric columns that come from judges (compared with the others).
    """
    parts = [_candidate_columns(f, i, metric, set(judge_cols)) for i, f in enumerate(frames)]
    if not parts:
        return pl.DataFrame(schema={"item_id": pl.String, "repeat": pl.Int64})
    wide = parts[0]
    for part in parts[1:]:
        wide = wide.join(part, on=KEYS, how="full", coalesce=True)
    expected = [f.select(*KEYS, _text("expected")) for f in frames if "expected" in f.columns]
    if expected:
        wide = wide.join(pl.concat(expected).unique(KEYS), on=KEYS, how="left")
    if inputs is not None:
        wide = wide.join(inputs.select("item_id", "input"), on="item_id", how="left")
    for name in ("expected", "input"):
        if name not in wide.columns:
            wide = wide.with_columns(pl.lit(None, dtype=pl.String).alias(name))
    return _with_summaries(wide, len(frames)).sort(KEYS)


def _with_summaries(wide: pl.DataFrame, n: int) -> pl.DataFrame:
    per_candidate = [c for c in wide.columns if c.startswith(PAIR)]
    pairs = {c.rpartition("@")[0] for c in per_candidate}
    wide = wide.with_columns(
        pl.any_horizontal(
            pl.col(c).fill_null(False) for c in per_candidate if c.rpartition("@")[0] == pair
        ).alias(pair)
        for pair in sorted(pairs)
    ).drop(per_candidate)
    fails = [pl.col(f"f{i}").fill_null(True) for i in range(n)]
    text = [pl.col("input"), *(pl.col(f"o{i}") for i in range(n))]
    return wide.with_columns(
        pl.any_horizontal(fails).alias("any_fail"),
        (pl.any_horizontal(fails) & ~pl.all_horizontal(fails)).alias("disagree"),
        pl.any_horizontal(pl.col(f"jm{i}").fill_null(False) for i in range(n)).alias(
            "judge_metric"
        ),
        pl.any_horizontal(pl.col(f"e{i}").is_not_null() for i in range(n)).alias("any_error"),
        pl.concat_str(text, separator="\n", ignore_nulls=True).str.to_lowercase().alias("_text"),
    )


@dataclass(frozen=True)
class Query:
    """What one matrix page asks for.

    Args:
        filter: ``all``, ``failures`` (any candidate failed), ``disagree`` (candidates
            differ in pass/fail), ``judge_metric`` (a judge and a metric differ), ``errors``.
        q: Case-insensitive text searched in the input and every output.
        sort: ``item``, or ``c<i>`` for candidate ``i``'s score.
        desc: Descending order.
        page: 1-based page number.
        per_page: Rows per page.
        pair: With ``judge_metric``, one ``judge|metric`` pair only (see :func:`judge_pairs`).
    """

    filter: Filter = "all"
    q: str = ""
    sort: str = "item"
    desc: bool = False
    page: int = 1
    per_page: int = 50
    pair: str = ""


@dataclass(frozen=True)
class Page:
    """One page of a matrix query: its rows, how many matched, and where it is."""

    rows: list[dict[str, Any]]
    total: int
    page: int
    pages: int


FILTER_COLUMNS = {
    "failures": "any_fail",
    "disagree": "disagree",
    "judge_metric": "judge_metric",
    "errors": "any_error",
}


def run_query(matrix: pl.DataFrame, query: Query) -> Page:
    """Filter, search, sort and slice a matrix (everything server-side, nothing per row)."""
    frame = matrix
    if query.filter == "judge_metric" and PAIR + query.pair in frame.columns:
        frame = frame.filter(pl.col(PAIR + query.pair))
    elif query.filter in FILTER_COLUMNS:
        frame = frame.filter(pl.col(FILTER_COLUMNS[query.filter]))
    needle = query.q.strip().lower()
    if needle:
        frame = frame.filter(pl.col("_text").str.contains(needle, literal=True))
    match = re.fullmatch(r"c(\d+)", query.sort)
    if match and f"s{match.group(1)}" in frame.columns:
        frame = frame.sort([f"s{match.group(1)}", *KEYS], descending=query.desc, nulls_last=True)
    elif query.desc:
        frame = frame.sort(KEYS, descending=True)  # the matrix is sorted by item already
    total = frame.height
    per_page = max(1, min(query.per_page, 500))
    pages = max(1, -(-total // per_page))
    page = min(max(1, query.page), pages)
    rows = frame.slice((page - 1) * per_page, per_page).drop("_text").to_dicts()
    return Page(rows=rows, total=total, page=page, pages=pages)


def judge_pairs(matrix: pl.DataFrame) -> dict[str, int]:
    """``judge|metric -> items where they disagree`` for every pair the matrix compares."""
    columns = [c for c in matrix.columns if c.startswith(PAIR)]
    if not columns:
        return {}
    counts = matrix.select(pl.col(c).sum() for c in columns).row(0)
    return {c.removeprefix(PAIR): int(n) for c, n in zip(columns, counts, strict=True)}


def neighbours(matrix: pl.DataFrame, item_id: str) -> tuple[str | None, str | None]:
    """The items before and after ``item_id`` in the matrix's order (binary search)."""
    ids = matrix.get_column("item_id")
    if ids.len() == 0:
        return None, None
    left = int(ids.search_sorted(item_id, side="left"))
    right = int(ids.search_sorted(item_id, side="right"))
    return (ids[left - 1] if left > 0 else None), (ids[right] if right < ids.len() else None)


def item_rows(frame: pl.DataFrame, item_id: str) -> list[dict[str, Any]]:
    """A frame's rows for one item, by repeat."""
    if "item_id" not in frame.columns:
        return []
    rows = frame.filter(pl.col("item_id") == item_id)
    return (rows.sort("repeat") if "repeat" in rows.columns else rows).to_dicts()


def judge_verdicts(frame: pl.DataFrame | None, item_id: str) -> list[dict[str, Any]]:
    """Every judge's verdict on one item: judge, dimension, score, reason, failure."""
    if frame is None or frame.height == 0:
        return []
    return item_rows(frame, item_id)


Segment = tuple[Literal["equal", "delete", "insert"], str]


def diff_segments(a: str, b: str) -> list[Segment]:
    """Word-level differences from ``a`` to ``b`` (:mod:`difflib`), whitespace kept."""
    left, right = re.split(r"(\s+)", a), re.split(r"(\s+)", b)
    out: list[Segment] = []
    matcher = difflib.SequenceMatcher(None, left, right, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            out.append(("equal", "".join(left[i1:i2])))
            continue
        if i2 > i1:
            out.append(("delete", "".join(left[i1:i2])))
        if j2 > j1:
            out.append(("insert", "".join(right[j1:j2])))
    return [s for s in out if s[1]]


def diff_ratio(a: str, b: str) -> float:
    """How alike two outputs are, 0 to 1 (:meth:`difflib.SequenceMatcher.ratio`)."""
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()
