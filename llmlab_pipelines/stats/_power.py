"""How many items a comparison needs, and what the items at hand can detect."""

from __future__ import annotations

import math

from scipy import optimize
from scipy import stats as st
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize

from ._errors import StatsError


def _check(alpha: float, power: float) -> None:
    if not 0 < alpha < 1 or not 0 < power < 1:
        raise StatsError(f"alpha and power must be in (0, 1), got {alpha} and {power}")


def sample_size(
    baseline_rate: float,
    mde: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    paired: bool = False,
) -> int:
    """Items per arm to detect a change of ``mde`` in a success rate (two-sided).

    Args:
        baseline_rate: The baseline's success rate, in (0, 1).
        mde: The smallest absolute change worth detecting (baseline_rate + mde in (0, 1]).
        alpha: Significance level.
        power: Probability of detecting a true change of ``mde``.
        paired: Both candidates answer the same items. The paired design is McNemar's test
            with the discordance estimated under independence of the two outcomes
            (Connor, 1987): ψ = p1(1-p2) + p2(1-p1); n = (z_α/2·√ψ + z_β·√(ψ - δ²))² / δ².

    Returns:
        For ``paired=False``, items per arm of a two-proportion z-test with Cohen's h; for
        ``paired=True``, the number of paired items. Rounded up.
    """
    _check(alpha, power)
    p2 = baseline_rate + mde
    if not 0 < baseline_rate < 1 or not 0 < p2 <= 1 or mde == 0:
        raise StatsError(
            f"need 0 < baseline_rate < 1, mde != 0 and a target rate in (0, 1]; "
            f"got baseline_rate={baseline_rate}, mde={mde}"
        )
    if not paired:
        h = abs(float(proportion_effectsize(p2, baseline_rate)))
        n = NormalIndPower().solve_power(
            effect_size=h, alpha=alpha, power=power, alternative="two-sided"
        )
        return math.ceil(float(n))
    return math.ceil(_paired_n(baseline_rate, mde, alpha, power))


def _paired_n(rate: float, mde: float, alpha: float, power: float) -> float:
    """Connor's (1987) paired items for McNemar, unrounded."""
    za, zb = st.norm.ppf(1 - alpha / 2), st.norm.ppf(power)
    p2 = rate + mde
    psi = rate * (1 - p2) + p2 * (1 - rate)
    return float((za * math.sqrt(psi) + zb * math.sqrt(max(psi - mde**2, 0.0))) ** 2 / mde**2)


def minimum_detectable_effect(
    n: int,
    *,
    baseline_rate: float | None = None,
    sd: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    paired: bool = True,
) -> float:
    """The smallest true difference that ``n`` items detect with the given power.

    Args:
        n: Items (per arm when ``paired=False``).
        baseline_rate: For 0/1 metrics: the baseline's rate; the answer is an absolute increase
            in rate, capped at 1 - baseline_rate. Paired: the increase for which
            ``sample_size(baseline_rate, mde, paired=True)`` (Connor's McNemar formula) equals
            n; not paired: Cohen's h of the two-proportion z-test inverted.
        sd: For continuous metrics: the standard deviation of the paired differences (or of one
            arm when ``paired=False``); the answer is (z_α/2 + z_β)·sd·√(k/n), k = 1 paired, 2 not.
        alpha: Significance level (two-sided).
        power: Desired power.
        paired: Whether both candidates answer the same items.

    Raises:
        StatsError: n < 2, or not exactly one of ``baseline_rate`` and ``sd``.
    """
    _check(alpha, power)
    if n < 2:
        raise StatsError(f"n = {n}: a detectable effect needs at least 2 items")
    if (baseline_rate is None) == (sd is None):
        raise StatsError("give exactly one of baseline_rate (0/1 metrics) or sd (continuous)")
    z = float(st.norm.ppf(1 - alpha / 2) + st.norm.ppf(power))
    if sd is not None:
        if sd < 0:
            raise StatsError(f"sd must be >= 0, got {sd}")
        return z * sd * math.sqrt((1 if paired else 2) / n)
    assert baseline_rate is not None
    if not 0 <= baseline_rate <= 1:
        raise StatsError(f"baseline_rate must be in [0, 1], got {baseline_rate}")
    if paired:
        cap = 1.0 - baseline_rate
        if cap <= 0 or _paired_n(baseline_rate, cap, alpha, power) > n:
            return float(max(cap, 0.0))
        return float(
            optimize.brentq(
                lambda m: _paired_n(baseline_rate, m, alpha, power) - n, 1e-9, cap, xtol=1e-12
            )
        )
    h = z / math.sqrt(n / 2)  # NormalIndPower: effect = h·sqrt(n/2)
    phi = 2 * math.asin(math.sqrt(baseline_rate)) + h
    target = math.sin(min(phi, math.pi) / 2) ** 2
    return float(min(target, 1.0) - baseline_rate)
