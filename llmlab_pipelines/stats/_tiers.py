"""Group candidates the data cannot tell apart."""

from __future__ import annotations

import pandas as pd

from ._compare import Correction, compare
from ._errors import StatsError


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
    """Tier 1 holds the best candidate and every one not significantly worse than it; the next
    tier starts at the first candidate that is, and so on (all pairs compared, corrected).

    Returns:
        Candidate -> tier (1 = best). A single candidate is tier 1.
    """
    if candidate not in scores.columns or metric not in scores.columns:
        raise StatsError(f"scores needs columns {candidate!r} and {metric!r}")
    means = scores.groupby([candidate, item])[metric].mean().groupby(level=0).mean()
    order = list(means.sort_values(ascending=False).index)
    if len(order) < 2:
        return dict.fromkeys(order, 1)
    pairs = compare(
        scores,
        metric=metric,
        candidate=candidate,
        item=item,
        alpha=alpha,
        correction=correction,
        n_boot=n_boot,
        seed=seed,
    )
    separated = {
        frozenset((a, b))
        for a, b, s in zip(
            pairs["candidate_a"], pairs["candidate_b"], pairs["significant"], strict=True
        )
        if s
    }
    tiers, tier, leader = {}, 1, order[0]
    for name in order:
        if frozenset((leader, name)) in separated:
            tier, leader = tier + 1, name
        tiers[name] = tier
    return tiers
