"""compare(): every candidate against a baseline (or all pairs), paired on items."""

from __future__ import annotations

import itertools
from dataclasses import asdict
from typing import Literal

import numpy as np
import pandas as pd

from ._errors import StatsError
from ._paired import compare_pair

Correction = Literal["holm", "bonferroni", "fdr_bh", "none"]
Family = Literal["baseline", "all_pairs"]
CORRECTIONS = ("holm", "bonferroni", "fdr_bh", "none")
#: Corrections that control the family-wise error; their intervals are simultaneous.
FWER = ("holm", "bonferroni")
#: The one definition of a comparisons table's columns (the asset adds experiment and metric).
COLUMNS = [
    "candidate_a",
    "candidate_b",
    "n",
    "mean_a",
    "mean_b",
    "diff",
    "ci_low",
    "ci_high",
    "ci_level",
    "test",
    "p_value",
    "p_adjusted",
    "correction",
    "family_size",
    "effect_size",
    "effect_kind",
    "significant",
    "wins",
    "losses",
    "prob_b_better",
    "note",
]
#: Fewest paired items a comparison is made on; a pair with fewer gets a row of NaN.
MIN_ITEMS = 2


def item_table(scores: pd.DataFrame, *, metric: str, candidate: str, item: str) -> pd.DataFrame:
    """Items x candidates, each cell the metric averaged over repeats (duplicate rows of an item).

    A NaN score is missing (a failed generation): it is left out, and a cell with no score at
    all stays NaN, so every pair is compared on the items both candidates answered.

    Raises:
        StatsError: missing columns, a non-numeric metric, infinite values.
    """
    missing = [c for c in (metric, candidate, item) if c not in scores.columns]
    if missing:
        raise StatsError(f"scores has no column(s) {missing} (columns: {list(scores.columns)})")
    if not pd.api.types.is_numeric_dtype(scores[metric]):
        raise StatsError(f"metric {metric!r} is not numeric (dtype {scores[metric].dtype})")
    infinite = np.isinf(scores[metric].to_numpy(float))
    if infinite.any():
        first = scores.loc[infinite].iloc[0]
        raise StatsError(
            f"metric {metric!r} has {int(infinite.sum())} infinite value(s), e.g. item "
            f"{first[item]!r} of {first[candidate]!r}"
        )
    return scores.pivot_table(
        index=item, columns=candidate, values=metric, aggfunc="mean", dropna=False
    )


def adjust(p_values: np.ndarray, correction: str) -> np.ndarray:
    """Multiple-comparison correction across a family of p-values (as statsmodels'
    ``multipletests``, without its per-call ``gc.collect()``)."""
    if correction not in CORRECTIONS:
        raise StatsError(f"unknown correction {correction!r} (known: {', '.join(CORRECTIONS)})")
    p = np.asarray(p_values, dtype=float)
    m = p.size
    if correction == "none" or m == 0:
        return p.copy()
    if correction == "bonferroni":
        return np.minimum(p * m, 1.0)
    order = np.argsort(p, kind="stable")
    ranked = p[order]
    if correction == "holm":  # step-down: max over k <= i of (m - k) p_(k)
        stepped = np.minimum(np.maximum.accumulate((m - np.arange(m)) * ranked), 1.0)
    else:  # fdr_bh, step-up: min over k >= i of m p_(k) / k
        stepped = np.minimum(
            np.minimum.accumulate((m * ranked / np.arange(1, m + 1))[::-1])[::-1], 1.0
        )
    out = np.empty(m)
    out[order] = stepped
    return out


def compare(
    scores: pd.DataFrame,
    *,
    metric: str = "score",
    candidate: str = "candidate",
    item: str = "item_id",
    baseline: str | None = None,
    family: Family | None = None,
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
        family: The rows compared and corrected together: ``baseline`` (the K - 1 comparisons
            with the baseline; the default when a baseline is given) or ``all_pairs`` (all
            K(K-1)/2 pairs; the default without one). With a baseline and ``all_pairs`` the
            baseline's rows come first, oriented baseline -> other.
        correction: ``holm``, ``bonferroni``, ``fdr_bh`` or ``none``, across all rows.
        alpha: Significance level. The difference CIs are simultaneous for ``holm`` and
            ``bonferroni``: each at level 1 - alpha/m (Bonferroni) for a family of m rows;
            1 - alpha otherwise. ``ci_level`` says which.
        test: ``mcnemar`` / ``ttest`` / ``wilcoxon``; default McNemar for 0/1 data, else ttest.
        n_boot: Bootstrap resamples for the CI of the difference.
        seed: Seed of the bootstrap.

    Returns:
        One row per comparison: ``candidate_a``, ``candidate_b``, ``n``, ``mean_a``, ``mean_b``,
        ``diff`` (b - a), ``ci_low``, ``ci_high``, ``ci_level``, ``test``, ``p_value``,
        ``p_adjusted``, ``correction``, ``family_size`` (m), ``effect_size``, ``effect_kind``
        (``risk_difference`` or ``d_z``), ``significant``, ``wins``, ``losses``,
        ``prob_b_better``, ``note``. NaN scores are missing: each row uses the items both
        answered. A pair with fewer than 2 such items is not compared: its ``p_value``,
        ``p_adjusted``, ``diff`` and interval are NaN, ``significant`` is False, ``test`` is
        ``none`` and ``note`` names the pair and why (the other rows' correction leaves it out).

    Raises:
        StatsError: unknown baseline, fewer than two candidates, a non-numeric metric, an
            unknown test or correction.
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
    pairs = family_pairs(names, baseline, family)
    ci_alpha = alpha / len(pairs) if correction in FWER else alpha
    rows = []
    for a_name, b_name in pairs:
        both = table[[a_name, b_name]].dropna()
        a, b = both[a_name].to_numpy(float), both[b_name].to_numpy(float)
        if a.size < MIN_ITEMS:
            rows.append(skipped_row(a_name, b_name, a, b, ci_level=1 - ci_alpha))
            continue
        result = compare_pair(
            a, b, test=test, alpha=alpha, n_boot=n_boot, seed=seed, ci_alpha=ci_alpha
        )
        rows.append({"candidate_a": a_name, "candidate_b": b_name, **asdict(result), "note": ""})
    frame = pd.DataFrame(rows)
    frame["p_adjusted"] = adjust_skipping_nan(frame["p_value"].to_numpy(float), correction)
    frame["correction"] = correction
    frame["family_size"] = len(pairs)
    frame["significant"] = frame["p_adjusted"] < alpha  # NaN compares False: not significant
    return frame[COLUMNS]


def skipped_row(
    a_name: str, b_name: str, a: np.ndarray, b: np.ndarray, *, ci_level: float
) -> dict[str, object]:
    """The row of a pair with fewer than ``MIN_ITEMS`` items both scored: NaN and a note."""
    nan = float("nan")
    return {
        "candidate_a": a_name,
        "candidate_b": b_name,
        "n": int(a.size),
        "mean_a": float(a.mean()) if a.size else nan,
        "mean_b": float(b.mean()) if b.size else nan,
        **dict.fromkeys(("diff", "ci_low", "ci_high", "p_value", "effect_size"), nan),
        "ci_level": ci_level,
        "test": "none",
        "effect_kind": "",
        "wins": int((b > a).sum()),
        "losses": int((b < a).sum()),
        "prob_b_better": nan,
        "note": (
            f"skipped: {a_name!r} and {b_name!r} share {a.size} scored item(s); "
            f"a comparison needs at least {MIN_ITEMS}"
        ),
    }


def adjust_skipping_nan(p_values: np.ndarray, correction: str) -> np.ndarray:
    """:func:`adjust` over the rows that have a p-value; skipped rows (NaN) stay NaN.

    The correction runs over the m' rows compared; the intervals keep the level of all m rows
    (1 - alpha/m for Holm and Bonferroni), never less strict than the correction.
    """
    out = np.full(p_values.size, np.nan)
    have = ~np.isnan(p_values)
    out[have] = adjust(p_values[have], correction)
    return out


def family_pairs(
    names: list[str], baseline: str | None, family: Family | None
) -> list[tuple[str, str]]:
    """The (a, b) pairs of one correction family."""
    family = family or ("baseline" if baseline is not None else "all_pairs")
    if family == "baseline":
        if baseline is None:
            raise StatsError("family='baseline' needs a baseline")
        return [(baseline, b) for b in names if b != baseline]
    if family != "all_pairs":
        raise StatsError(f"unknown family {family!r} (known: baseline, all_pairs)")
    if baseline is None:
        return list(itertools.combinations(names, 2))
    others = [n for n in names if n != baseline]
    return [(baseline, b) for b in others] + list(itertools.combinations(others, 2))
