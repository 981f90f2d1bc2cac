"""Is b no worse than a by more than a margin? (paired, one-sided)"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike
from scipy import optimize
from scipy import stats as st

from ._ci import as_values, is_binary
from ._errors import StatsError
from ._paired import near_constant


def non_inferiority(
    a: ArrayLike, b: ArrayLike, *, margin: float, alpha: float = 0.05
) -> dict[str, float | bool | str]:
    """One-sided paired test of H0: mean(b - a) <= -margin.

    The test depends on the data:

    - 0/1 scores: Tango's (1998) score test for the difference of paired proportions, and its
      score interval (``method="tango-score"``). Items both got right or wrong still count
      toward n; with no discordant pair at all the answer follows from n and the margin
      (e.g. 2 items never pass a 0.05 margin).
    - other scores: the paired t-test (``method="t"``). When every difference is the same
      number (up to rounding error) the t statistic is undefined; the exact sign test of
      H0: median(b - a) <= -margin answers (``method="sign-exact"``, p = 0.5^n; the lower
      bound is that difference when 0.5^n <= alpha, else -inf). Never p = 0.

    Args:
        a: Reference scores per item.
        b: New candidate's scores on the same items.
        margin: The largest acceptable loss (> 0, in metric units).
        alpha: One-sided significance level.

    Returns:
        ``diff``, ``ci_low`` (the one-sided 1 - alpha lower bound), ``p_value``,
        ``non_inferior`` (True when the lower bound is above -margin), ``method``.
    """
    x, y = as_values(a, "a"), as_values(b, "b")
    if x.size != y.size:
        raise StatsError(f"a and b must be paired: {x.size} vs {y.size} values")
    if x.size < 2:
        raise StatsError("a non-inferiority test needs at least 2 paired items")
    if margin <= 0:
        raise StatsError(f"margin must be > 0, got {margin}")
    if is_binary(x) and is_binary(y):
        return _tango(x, y, margin=margin, alpha=alpha)
    d = y - x
    mean, sem = float(d.mean()), float(d.std(ddof=1) / np.sqrt(d.size))
    if near_constant(d):  # sem is 0 up to rounding error: no t statistic
        p = 0.5**d.size if mean > -margin else 1.0
        low = mean if 0.5**d.size <= alpha else -math.inf
        return {
            "diff": mean,
            "ci_low": low,
            "p_value": p,
            "non_inferior": bool(low > -margin),
            "method": "sign-exact",
        }
    t = (mean + margin) / sem
    p = float(st.t.sf(t, d.size - 1))
    low = mean - float(st.t.ppf(1 - alpha, d.size - 1)) * sem
    return {
        "diff": mean,
        "ci_low": low,
        "p_value": p,
        "non_inferior": bool(low > -margin),
        "method": "t",
    }


def tango_z(wins: int, losses: int, n: int, delta0: float) -> float:
    """Tango's score statistic for H0: p_b - p_a = delta0 on n paired 0/1 items.

    ``wins`` counts items only b got right (a=0, b=1), ``losses`` items only a got right. The
    variance uses the maximum-likelihood cell probabilities under the constraint
    p01 - p10 = delta0 (the positive root of a quadratic).
    """
    rest = n - wins - losses
    quad_b = -(wins * (1 - delta0) + losses * (1 - 3 * delta0) - 2 * rest * delta0)
    quad_c = -losses * delta0 * (1 - delta0)
    p10 = (-quad_b + math.sqrt(max(quad_b**2 - 8 * n * quad_c, 0.0))) / (4 * n)
    p10 = max(p10, -delta0, 0.0)
    variance = n * (2 * p10 + delta0 - delta0**2)
    if variance <= 0:
        return math.inf if wins - losses > n * delta0 else 0.0
    return (wins - losses - n * delta0) / math.sqrt(variance)


def _tango(x: np.ndarray, y: np.ndarray, *, margin: float, alpha: float) -> dict:
    if margin >= 1:
        raise StatsError(f"margin {margin} >= 1: no loss of 0/1 scores can exceed it")
    n = x.size
    wins, losses = int(((y == 1) & (x == 0)).sum()), int(((x == 1) & (y == 0)).sum())
    diff = (wins - losses) / n
    p = float(st.norm.sf(tango_z(wins, losses, n, -margin)))
    z = float(st.norm.ppf(1 - alpha))
    lowest = -1 + 1e-9
    if tango_z(wins, losses, n, lowest) <= z:
        low = -1.0
    else:  # the smallest delta0 the test does not reject
        low = float(
            optimize.brentq(lambda d0: tango_z(wins, losses, n, d0) - z, lowest, diff, xtol=1e-10)
        )
    return {
        "diff": diff,
        "ci_low": low,
        "p_value": p,
        "non_inferior": bool(p < alpha),
        "method": "tango-score",
    }
