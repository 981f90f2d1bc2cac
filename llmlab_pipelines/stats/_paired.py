"""Tests on paired observations: McNemar, paired t, Wilcoxon, their intervals, effect sizes."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as st

from ._bayes import prob_b_better
from ._ci import _wilson, is_binary
from ._errors import StatsError

#: Discordant pairs below which McNemar uses the exact binomial test.
EXACT_MCNEMAR_BELOW = 25
TESTS = ("mcnemar", "ttest", "wilcoxon")
#: Relative tolerance under which paired differences count as constant (rounding error).
CONSTANT_RTOL = 1e-9


@dataclass(frozen=True)
class PairedResult:
    """One paired comparison of b against a."""

    n: int
    mean_a: float
    mean_b: float
    diff: float
    ci_low: float
    ci_high: float
    ci_level: float
    test: str
    p_value: float
    effect_size: float
    effect_kind: str
    wins: int
    losses: int
    prob_b_better: float


def mcnemar_p(a: np.ndarray, b: np.ndarray) -> tuple[str, float]:
    """McNemar: exact binomial when discordant pairs < 25, chi-square with continuity otherwise."""
    b_only = int(((b == 1) & (a == 0)).sum())
    a_only = int(((a == 1) & (b == 0)).sum())
    discordant = a_only + b_only
    if discordant == 0:
        return "mcnemar-exact", 1.0
    if discordant < EXACT_MCNEMAR_BELOW:
        return "mcnemar-exact", float(st.binomtest(b_only, discordant, 0.5).pvalue)
    chi2 = (abs(b_only - a_only) - 1) ** 2 / discordant
    return "mcnemar-chi2", float(st.chi2.sf(chi2, 1))


def sign_p(d: np.ndarray) -> float:
    """Exact two-sided sign test of median(d) = 0 (zero differences dropped)."""
    wins, losses = int((d > 0).sum()), int((d < 0).sum())
    if wins + losses == 0:
        return 1.0
    return float(st.binomtest(wins, wins + losses, 0.5).pvalue)


def near_constant(d: np.ndarray) -> bool:
    """True when every difference is the same number up to rounding error: the spread is at
    most ``CONSTANT_RTOL`` times the largest |difference| (or 1)."""
    return bool(np.ptp(d) <= CONSTANT_RTOL * max(1.0, float(np.abs(d).max())))


def near_zero(d: np.ndarray, a: np.ndarray, b: np.ndarray) -> bool:
    """True when every difference is 0 up to rounding error relative to the scores."""
    scale = max(1.0, float(np.abs(a).max()), float(np.abs(b).max()))
    return bool(np.abs(d).max() <= CONSTANT_RTOL * scale)


def paired_p(a: np.ndarray, b: np.ndarray, test: str) -> tuple[str, float]:
    """The p-value of the chosen paired test (1.0 when every difference is zero).

    When every difference is the same non-zero number the t statistic is undefined (no
    variance); the exact sign test answers instead (``sign-exact``: p = 2·0.5^n), never p = 0.
    """
    d = b - a
    if test == "mcnemar":
        if not (is_binary(a) and is_binary(b)):
            raise StatsError("McNemar's test needs 0/1 values")
        return mcnemar_p(a, b)
    if near_zero(d, a, b):
        return test, 1.0
    if test == "ttest":
        if near_constant(d):  # constant non-zero difference: no variance for a t statistic
            return "sign-exact", sign_p(d)
        return test, float(st.ttest_rel(b, a).pvalue)
    if test == "wilcoxon":
        return test, float(st.wilcoxon(b, a).pvalue)
    raise StatsError(f"unknown test {test!r} (known: {', '.join(TESTS)})")


def bootstrap_means(d: np.ndarray, *, n_boot: int, seed: int) -> np.ndarray:
    """Bootstrap distribution of the mean paired difference (items resampled together)."""
    rng = np.random.default_rng(seed)
    means = np.empty(n_boot)
    chunk = max(1, 2_000_000 // max(d.size, 1))
    for start in range(0, n_boot, chunk):
        stop = min(n_boot, start + chunk)
        means[start:stop] = d[rng.integers(0, d.size, size=(stop - start, d.size))].mean(axis=1)
    return means


def t_interval(d: np.ndarray, *, alpha: float) -> tuple[float, float]:
    """The paired t-interval of mean(d) at level 1 - ``alpha``.

    When every difference is the same number (up to rounding) there is no variance; the
    interval inverts the exact sign test instead: [min d, max d] when 2·0.5^n <= alpha (the
    sign test can reject every other value), else unbounded (-inf, inf).
    """
    if near_constant(d):
        if 2 * 0.5**d.size <= alpha:
            return float(d.min()), float(d.max())
        return -math.inf, math.inf
    half = float(st.t.ppf(1 - alpha / 2, d.size - 1)) * float(d.std(ddof=1)) / math.sqrt(d.size)
    return float(d.mean()) - half, float(d.mean()) + half


def newcombe_interval(a: np.ndarray, b: np.ndarray, *, alpha: float) -> tuple[float, float]:
    """Newcombe's (1998, method 10) hybrid score interval for p_b - p_a on paired 0/1 items.

    Wilson intervals (l_a, u_a), (l_b, u_b) of the two rates are combined ("square and add")
    with the correlation of the two estimates: phi = (n11·n00 - n10·n01 - n/2) / sqrt(product of
    the margins) when n11·n00 - n10·n01 > n/2, 0 up to n/2, the plain phi below 0, and 0 when a
    margin is empty. Lower = D - sqrt((p_b - l_b)² - 2·phi·(p_b - l_b)·(u_a - p_a) + (u_a - p_a)²),
    upper = D + sqrt((u_b - p_b)² - 2·phi·(u_b - p_b)·(p_a - l_a) + (p_a - l_a)²).
    """
    n = a.size
    both = float(((a == 1) & (b == 1)).sum())
    neither = float(((a == 0) & (b == 0)).sum())
    a_only = float(((a == 1) & (b == 0)).sum())
    b_only = float(((a == 0) & (b == 1)).sum())
    hits_a, hits_b = both + a_only, both + b_only
    p_a, p_b = hits_a / n, hits_b / n
    l_a, u_a = _wilson(int(hits_a), n, alpha)
    l_b, u_b = _wilson(int(hits_b), n, alpha)
    margins = hits_a * (n - hits_a) * hits_b * (n - hits_b)
    cross = both * neither - a_only * b_only
    if margins == 0 or 0 <= cross <= n / 2:
        phi = 0.0
    else:
        phi = (cross - n / 2 if cross > 0 else cross) / math.sqrt(margins)
    down_b, up_a = p_b - l_b, u_a - p_a
    up_b, down_a = u_b - p_b, p_a - l_a
    diff = p_b - p_a
    low = diff - math.sqrt(max(down_b**2 - 2 * phi * down_b * up_a + up_a**2, 0.0))
    high = diff + math.sqrt(max(up_b**2 - 2 * phi * up_b * down_a + down_a**2, 0.0))
    return max(-1.0, low), min(1.0, high)


def effect_size(a: np.ndarray, b: np.ndarray, binary: bool) -> tuple[float, str]:
    """The effect size and its kind: ``risk_difference`` (p_b - p_a) for 0/1 data, else
    ``d_z`` (Cohen's d_z = mean(d) / sd(d)); d_z is NaN when sd(d) = 0 (undefined)."""
    d = b - a
    if binary:
        return float(d.mean()), "risk_difference"
    if near_zero(d, a, b):
        return 0.0, "d_z"
    if near_constant(d):  # sd is 0 up to rounding error: d_z is undefined
        return float("nan"), "d_z"
    return float(d.mean() / d.std(ddof=1)), "d_z"


def compare_pair(
    a: np.ndarray,
    b: np.ndarray,
    *,
    test: str | None,
    alpha: float,
    n_boot: int,
    seed: int,
    ci_alpha: float | None = None,
) -> PairedResult:
    """Compare paired arrays ``b`` against ``a``; the CI has level 1 - ``ci_alpha`` (default
    ``alpha``) and comes from the test's own family: Newcombe's hybrid score interval for
    McNemar rows, the paired t-interval otherwise (sign-test inversion when every difference is
    equal; Wilcoxon rows also get the t-interval of the mean difference)."""
    if a.size < 2:
        raise StatsError(f"only {a.size} paired item(s): a comparison needs at least 2")
    binary = is_binary(a) and is_binary(b)
    chosen = test or ("mcnemar" if binary else "ttest")
    name, p = paired_p(a, b, chosen)
    d = b - a
    ci_alpha = alpha if ci_alpha is None else ci_alpha
    if name.startswith("mcnemar"):
        low, high = newcombe_interval(a, b, alpha=ci_alpha)
    else:
        low, high = t_interval(d, alpha=ci_alpha)
    size, kind = effect_size(a, b, binary)
    if binary:
        better = prob_b_better(a, b, binary=True, seed=seed)
    else:  # the bootstrap distribution of the mean difference, ties counted one half
        means = bootstrap_means(d, n_boot=n_boot, seed=seed)
        better = float((means > 0).mean() + 0.5 * (means == 0).mean())
    return PairedResult(
        n=int(a.size),
        mean_a=float(a.mean()),
        mean_b=float(b.mean()),
        diff=float(d.mean()),
        ci_low=low,
        ci_high=high,
        ci_level=1 - ci_alpha,
        test=name,
        p_value=min(1.0, max(0.0, p)),
        effect_size=size,
        effect_kind=kind,
        wins=int((d > 0).sum()),
        losses=int((d < 0).sum()),
        prob_b_better=better,
    )
