"""Tests on paired observations: McNemar, paired t, Wilcoxon, bootstrap CIs, effect sizes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats as st

from ._bayes import prob_b_better
from ._ci import is_binary
from ._errors import StatsError

#: Discordant pairs below which McNemar uses the exact binomial test.
EXACT_MCNEMAR_BELOW = 25
TESTS = ("mcnemar", "ttest", "wilcoxon")


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
    if not d.any():
        return test, 1.0
    if test == "ttest":
        if np.ptp(d) == 0:  # constant non-zero difference: no variance for a t statistic
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


def bootstrap_diff_ci(
    d: np.ndarray, *, alpha: float, n_boot: int, seed: int
) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean paired difference."""
    low, high = np.quantile(
        bootstrap_means(d, n_boot=n_boot, seed=seed), [alpha / 2, 1 - alpha / 2]
    )
    return float(low), float(high)


def effect_size(a: np.ndarray, b: np.ndarray, binary: bool) -> tuple[float, str]:
    """The effect size and its kind: ``risk_difference`` (p_b - p_a) for 0/1 data, else
    ``d_z`` (Cohen's d_z = mean(d) / sd(d)); d_z is NaN when sd(d) = 0 (undefined)."""
    d = b - a
    if binary:
        return float(d.mean()), "risk_difference"
    sd = float(d.std(ddof=1))
    if sd == 0:
        return (0.0 if d.mean() == 0 else float("nan")), "d_z"
    return float(d.mean() / sd), "d_z"


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
    ``alpha``)."""
    if a.size < 2:
        raise StatsError(f"only {a.size} paired item(s): a comparison needs at least 2")
    binary = is_binary(a) and is_binary(b)
    chosen = test or ("mcnemar" if binary else "ttest")
    name, p = paired_p(a, b, chosen)
    d = b - a
    means = bootstrap_means(d, n_boot=n_boot, seed=seed)
    ci_alpha = alpha if ci_alpha is None else ci_alpha
    low, high = (float(q) for q in np.quantile(means, [ci_alpha / 2, 1 - ci_alpha / 2]))
    size, kind = effect_size(a, b, binary)
    if binary:
        better = prob_b_better(a, b, binary=True, seed=seed)
    else:  # the same bootstrap distribution, ties counted one half
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
