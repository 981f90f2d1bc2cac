"""Group candidates into tiers: each tier's members are not significantly worse than its best."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from ._compare import Correction, compare, item_table
from ._errors import StatsError


def tiers_from_comparisons(means: Mapping[str, float], pairs: pd.DataFrame) -> dict[str, int]:
    """Tiers from one family of corrected pairwise comparisons.

    Candidates are taken best mean first. Tier 1 holds the best candidate and every candidate
    not significantly worse than it; tier k holds, among the candidates not yet placed, the
    best of them and every one not significantly worse than that best; and so on. "Significantly
    worse" reads the pair's corrected verdict (``significant``) and the sign of its paired
    ``diff``. A tier is therefore not a set of mutually inseparable candidates: two members of
    one tier can differ significantly from each other when neither is worse than the tier's best.

    Args:
        means: Candidate -> mean (the ranking).
        pairs: Rows of :func:`compare` holding every pair of the candidates (``all_pairs``).

    Raises:
        StatsError: a pair of candidates is missing from ``pairs``.
    """
    worse: dict[tuple[str, str], bool] = {}  # (better, other) -> other significantly worse
    for row in pairs.itertuples(index=False):
        a, b = str(row.candidate_a), str(row.candidate_b)
        significant = bool(row.significant)
        worse[(a, b)] = significant and row.diff < 0
        worse[(b, a)] = significant and row.diff > 0
    order = sorted(  # best mean first; a candidate without a mean (no scored item) last
        means,
        key=lambda c: (means[c] != means[c], -means[c] if means[c] == means[c] else 0, str(c)),
    )
    missing = [
        (a, b) for i, a in enumerate(order) for b in order[i + 1 :] if (str(a), str(b)) not in worse
    ]
    if missing:
        raise StatsError(
            f"tiers need every pair of candidates compared in one family; missing "
            f"{', '.join(f'{a!r} vs {b!r}' for a, b in missing)} "
            "(use compare(..., family='all_pairs'))"
        )
    tiers: dict[str, int] = {}
    tier, left = 0, order
    while left:
        tier += 1
        best = left[0]
        placed = [c for c in left if c == best or not worse[(str(best), str(c))]]
        tiers.update(dict.fromkeys(placed, tier))
        left = [c for c in left if c not in placed]
    return tiers


def rank_tiers(
    scores: pd.DataFrame,
    *,
    metric: str = "score",
    candidate: str = "candidate",
    item: str = "item_id",
    alpha: float = 0.05,
    correction: Correction = "holm",
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, int]:
    """Tiers (see :func:`tiers_from_comparisons`) from all K(K-1)/2 pairs, one correction family.

    Returns:
        Candidate -> tier (1 = best). A single candidate is tier 1.
    """
    if candidate not in scores.columns or metric not in scores.columns:
        raise StatsError(f"scores needs columns {candidate!r} and {metric!r}")
    means = item_table(scores, metric=metric, candidate=candidate, item=item).mean().to_dict()
    if len(means) < 2:
        return dict.fromkeys(means, 1)
    pairs = compare(
        scores,
        metric=metric,
        candidate=candidate,
        item=item,
        alpha=alpha,
        correction=correction,
        family="all_pairs",
        n_boot=n_boot,
        seed=seed,
    )
    return tiers_from_comparisons(means, pairs)
