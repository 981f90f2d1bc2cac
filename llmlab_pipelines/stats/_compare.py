"""compare(): every candidate against a baseline (or all pairs), paired on items."""

from __future__ import annotations

import itertools
from dataclasses import asdict
from typing import Literal

import numpy as np
import pandas as pd
from statsmodels.stats.multitest import multipletests

from ._errors import StatsError
from ._paired import compare_pair

Correction = Literal["holm", "bonferroni", "fdr_bh", "none"]
CORRECTIONS = ("holm", "bonferroni", "fdr_bh", "none")
COLUMNS = [
    "candidate_a",
    "candidate_b",
    "n",
    "mean_a",
    "mean_b",
    "diff",
    "ci_low",
    "ci_high",
    "test",
    "p_value",
    "p_adjusted",
    "effect_size",
    "significant",
    "wins",
    "losses",
    "prob_b_better",
]


def item_table(scores: pd.DataFrame, *, metric: str, candidate: str, item: str) -> pd.DataFrame:
    """Items x candidates, each cell the metric averaged over repeats."""
    missing = [c for c in (metric, candidate, item) if c not in scores.columns]
    if missing:
        raise StatsError(f"scores has no column(s) {missing} (columns: {list(scores.columns)})")
    if not pd.api.types.is_numeric_dtype(scores[metric]):
        raise StatsError(f"metric {metric!r} is not numeric (dtype {scores[metric].dtype})")
    if scores[metric].isna().any():
        raise StatsError(f"metric {metric!r} has {int(scores[metric].isna().sum())} missing values")
    return scores.pivot_table(index=item, columns=candidate, values=metric, aggfunc="mean")


def adjust(p_values: np.ndarray, correction: str) -> np.ndarray:
    """Multiple-comparison correction across a family of p-values."""
    if correction not in CORRECTIONS:
        raise StatsError(f"unknown correction {correction!r} (known: {', '.join(CORRECTIONS)})")
    if correction == "none" or p_values.size == 0:
        return p_values.copy()
    return np.asarray(multipletests(p_values, method=correction)[1], dtype=float)


def compare(
    scores: pd.DataFrame,
    *,
    metric: str = "score",
    candidate: str = "candidate",
    item: str = "item_id",
    baseline: str | None = None,
    correction: Correction = "holm",
    alpha: float = 0.05,
    test: str | None = None,
    n_boot: int = 10_000,
    seed: int = 0,
) -> pd.DataFrame:
    """Paired comparisons with bootstrap CIs, the test suited to the metric, and a correction.

    Args:
        scores: Long table, one row per (candidate, item) or several (repeats, averaged first).
        metric: The numeric column compared.
        candidate: The column naming the candidate.
        item: The column naming the item.
        baseline: Compare every other candidate with this one; all pairs when None.
        correction: ``holm``, ``bonferroni``, ``fdr_bh`` or ``none``, across all rows.
        alpha: Significance level and 1 - CI level.
        test: ``mcnemar`` / ``ttest`` / ``wilcoxon``; default McNemar for 0/1 data, else ttest.
        n_boot: Bootstrap resamples for the CI of the difference.
        seed: Seed of the bootstrap.

    Returns:
        One row per comparison: ``candidate_a``, ``candidate_b``, ``n``, ``mean_a``, ``mean_b``,
        ``diff`` (b - a), ``ci_low``, ``ci_high``, ``test``, ``p_value``, ``p_adjusted``,
        ``effect_size``, ``significant``, ``wins``, ``losses``, ``prob_b_better``.

    Raises:
        StatsError: unknown baseline, fewer than two candidates, no overlapping items, a
            non-numeric metric, n < 2, an unknown test or correction.
    """
    if not 0 < alpha < 1:
        raise StatsError(f"alpha must be in (0, 1), got {alpha}")
    adjust(np.array([]), correction)  # validate early
    table = item_table(scores, metric=metric, candidate=candidate, item=item)
    names = list(table.columns)
    if baseline is not None and baseline not in names:
        raise StatsError(
            f"unknown baseline {baseline!r} (candidates: {', '.join(map(str, names))})"
        )
    if len(names) < 2:
        raise StatsError(f"need at least two candidates to compare, got {names}")
    pairs = (
        [(baseline, b) for b in names if b != baseline]
        if baseline is not None
        else list(itertools.combinations(names, 2))
    )
    rows = []
    for a_name, b_name in pairs:
        both = table[[a_name, b_name]].dropna()
        if both.empty:
            raise StatsError(f"{a_name!r} and {b_name!r} share no items")
        a, b = both[a_name].to_numpy(float), both[b_name].to_numpy(float)
        result = compare_pair(a, b, test=test, alpha=alpha, n_boot=n_boot, seed=seed)
        rows.append({"candidate_a": a_name, "candidate_b": b_name, **asdict(result)})
    frame = pd.DataFrame(rows)
    frame["p_adjusted"] = adjust(frame["p_value"].to_numpy(float), correction)
    frame["significant"] = frame["p_adjusted"] < alpha
    return frame[COLUMNS]
