"""Is b no worse than a by more than a margin? (paired, one-sided)"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats as st

from ._ci import as_values
from ._errors import StatsError


def non_inferiority(
    a: ArrayLike, b: ArrayLike, *, margin: float, alpha: float = 0.05
) -> dict[str, float | bool]:
    """Paired one-sided t-test of H0: mean(b - a) <= -margin.

    Args:
        a: Reference scores per item.
        b: New candidate's scores on the same items.
        margin: The largest acceptable loss (> 0, in metric units).
        alpha: One-sided significance level.

    Returns:
        ``diff``, ``ci_low`` (the one-sided 1 - alpha lower bound), ``p_value``,
        ``non_inferior`` (True when the lower bound is above -margin).
    """
    x, y = as_values(a, "a"), as_values(b, "b")
    if x.size != y.size:
        raise StatsError(f"a and b must be paired: {x.size} vs {y.size} values")
    if x.size < 2:
        raise StatsError("a non-inferiority test needs at least 2 paired items")
    if margin <= 0:
        raise StatsError(f"margin must be > 0, got {margin}")
    d = y - x
    mean, sem = float(d.mean()), float(d.std(ddof=1) / np.sqrt(d.size))
    if sem == 0:
        p = 0.0 if mean > -margin else 1.0
        return {"diff": mean, "ci_low": mean, "p_value": p, "non_inferior": p < alpha}
    t = (mean + margin) / sem
    p = float(st.t.sf(t, d.size - 1))
    low = mean - float(st.t.ppf(1 - alpha, d.size - 1)) * sem
    return {"diff": mean, "ci_low": low, "p_value": p, "non_inferior": bool(low > -margin)}
