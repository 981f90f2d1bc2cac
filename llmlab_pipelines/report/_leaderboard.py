"""The leaderboard: every candidate's mean with its CI, and its difference from the baseline."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..stats import (
    StatsError,
    mean_ci,
    minimum_detectable_effect,
    sample_size,
    tiers_from_comparisons,
)

COLUMNS = [
    "rank",
    "tier",
    "candidate",
    "n",
    "missing",
    "mean",
    "ci_low",
    "ci_high",
    "diff",
    "diff_low",
    "diff_high",
    "diff_level",
    "p_adjusted",
    "significant",
    "error_rate",
    "tokens",
    "cost_usd",
    "cost_per_1k",
    "latency_p50_s",
]


def item_means(scores: pd.DataFrame, metric: str) -> pd.DataFrame:
    """One row per (candidate, item): the metric averaged over repeats that were scored.

    A NaN score (failed generation) is left out; an item with no scored repeat stays NaN.
    """
    return scores.groupby(["candidate", "item_id"], sort=False, as_index=False)[metric].mean()


def candidate_summary(scores: pd.DataFrame, metric: str, *, seed: int = 0) -> pd.DataFrame:
    """Per candidate: scored items (n), items missing, mean with 95% CI, error rate, tokens,
    cost, median latency.

    ``missing`` counts the experiment's items (any candidate's) for which this candidate has
    no scored answer: every generation failed, or none was made. They are left out of its mean.
    """
    means = item_means(scores, metric)
    total = int(scores["item_id"].nunique())
    rows = []
    for name, group in scores.groupby("candidate", sort=False):
        values = means.loc[means["candidate"] == name, metric].dropna().to_numpy(dtype=float)
        n = len(values)
        mean, low, high = summary_ci(values, seed=seed)
        cost = float(group["cost_usd"].sum())
        rows.append(
            {
                "candidate": name,
                "n": n,
                "missing": total - n,
                "mean": mean,
                "ci_low": low,
                "ci_high": high,
                "error_rate": float(group["error"].notna().mean()),
                "tokens": int(group["prompt_tokens"].sum() + group["completion_tokens"].sum()),
                "cost_usd": cost,
                "cost_per_1k": cost / n * 1000 if n else 0.0,
                "latency_p50_s": float(np.median(group["latency_s"])) if len(group) else 0.0,
            }
        )
    return pd.DataFrame(rows)


def summary_ci(values: np.ndarray, *, seed: int = 0) -> tuple[float, float, float]:
    """Mean and 95% CI; NaN where there is none (no item, or one item of a graded metric)."""
    if values.size == 0:
        return np.nan, np.nan, np.nan
    try:
        return mean_ci(values, seed=seed)
    except StatsError:  # a single graded score: a mean but no interval
        return float(values.mean()), np.nan, np.nan


def build_leaderboard(
    scores: pd.DataFrame,
    comparisons: pd.DataFrame,
    *,
    metric: str,
    baseline: str,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Rank candidates by tier, then mean; attach each one's comparison with the baseline.

    The baseline columns (``diff``, ``diff_low``/``diff_high`` at ``diff_level``,
    ``p_adjusted``, ``significant``) and the tiers read the same rows of ``comparisons``: one
    correction family, all K(K-1)/2 pairs. Tier 1 holds the best candidate and every one not
    significantly worse than it; tier k the same among the candidates not yet placed. The
    board is sorted by (tier, mean), so tiers never go down the board: a noisier candidate with
    a lower mean can sit in a better tier than one with a higher mean.

    Args:
        scores: Long table: ``candidate``, ``item_id``, the metric, tokens, cost, latency, error.
        comparisons: :func:`llmlab_pipelines.stats.compare` with ``family="all_pairs"`` and
            this baseline, for this metric.
        metric: The metric ranked by.
        baseline: The baseline candidate's label.
        alpha: Unused (the verdicts in ``comparisons`` carry their level); kept for callers.

    Raises:
        StatsError: ``comparisons`` lacks a pair (not one all-pairs family).
    """
    del alpha
    board = candidate_summary(scores, metric)
    rows = comparisons[comparisons["candidate_a"] == baseline].set_index("candidate_b")
    for column, source in (
        ("diff", "diff"),
        ("diff_low", "ci_low"),
        ("diff_high", "ci_high"),
        ("diff_level", "ci_level"),
        ("p_adjusted", "p_adjusted"),
        ("significant", "significant"),
    ):
        board[column] = board["candidate"].map(rows[source]) if len(rows) else np.nan
    is_base = board["candidate"] == baseline
    board.loc[is_base, ["diff", "diff_low", "diff_high"]] = 0.0
    board["significant"] = board["significant"].astype("boolean")
    if len(board) < 2:
        tiers = dict.fromkeys(board["candidate"], 1)
    else:
        tiers = tiers_from_comparisons(
            dict(zip(board["candidate"], board["mean"], strict=True)), comparisons
        )
    board["tier"] = board["candidate"].map(tiers).astype(int)
    board = board.sort_values(
        ["tier", "mean", "candidate"], ascending=[True, False, True], na_position="last"
    ).reset_index(drop=True)
    board["rank"] = np.arange(1, len(board) + 1)
    return board[COLUMNS]


def paired_sd(scores: pd.DataFrame, metric: str, baseline: str) -> float:
    """Largest standard deviation of per-item differences from the baseline."""
    table = item_means(scores, metric).pivot(index="item_id", columns="candidate", values=metric)
    if baseline not in table.columns:
        return float("nan")
    sds = [
        float((table[c] - table[baseline]).dropna().std(ddof=1))
        for c in table.columns
        if c != baseline
    ]
    sds = [x for x in sds if x == x]
    return max(sds) if sds else float("nan")


def detectable_effect(
    board: pd.DataFrame,
    baseline: str,
    *,
    binary: bool,
    sd: float | None = None,
    alpha: float = 0.05,
) -> float | None:
    """The smallest difference from the baseline this many items could detect (80% power).

    Binary metrics use the baseline's rate; continuous ones the SD of paired differences.
    """
    row = board[board["candidate"] == baseline]
    if row.empty or int(row["n"].iloc[0]) < 2:
        return None
    n, mean = int(row["n"].iloc[0]), float(row["mean"].iloc[0])
    try:
        if binary:
            rate = min(max(mean, 0.01), 0.99)
            return float(minimum_detectable_effect(n, baseline_rate=rate, alpha=alpha))
        if sd is None or sd != sd:
            return None
        return float(minimum_detectable_effect(n, sd=sd, alpha=alpha))
    except StatsError:
        return None


def items_needed(
    board: pd.DataFrame,
    baseline: str,
    *,
    binary: bool,
    sd: float | None = None,
    alpha: float = 0.05,
) -> int | None:
    """Paired items needed to detect the largest observed difference (80% power), or None."""
    row = board[board["candidate"] == baseline]
    others = board[board["candidate"] != baseline]
    if row.empty or others.empty:
        return None
    target = float(others["diff"].abs().max())
    if not target or target != target:
        return None
    try:
        if binary:
            rate = min(max(float(row["mean"].iloc[0]), 0.01), 0.99)
            step = target if rate + target <= 1 else -target
            return sample_size(rate, step, alpha=alpha, paired=True)
        if sd is None or sd != sd or sd == 0:
            return None
        z = float(minimum_detectable_effect(2, sd=1.0, alpha=alpha) / np.sqrt(1 / 2))
        return int(np.ceil((z * sd / target) ** 2))
    except StatsError:
        return None


CORRECTION_NAMES = {"holm": "Holm", "bonferroni": "Bonferroni", "fdr_bh": "Benjamini-Hochberg"}


def family_name(comparisons: pd.DataFrame) -> str:
    """The correction family of one leaderboard in words, e.g. ``Holm over all 6 pairs``."""
    if comparisons.empty:
        return "no comparisons"
    correction = str(comparisons["correction"].iloc[0])
    m = int(comparisons["family_size"].iloc[0])
    if correction == "none":
        return f"uncorrected, {m} pair(s)"
    return f"{CORRECTION_NAMES.get(correction, correction)} over all {m} pair(s)"
