"""An always-valid test of a mean paired difference, by betting.

For differences ``d`` in ``[-1, 1]`` (two scores in ``[0, 1]``, one per candidate, on the same
item), the wealth ``K_t(m) = prod_i (1 + lam_i (d_i - m))`` with a *predictable* bet ``lam_i``
(chosen from the first ``i - 1`` differences only) is a nonnegative martingale when the true mean
is ``m``. Ville's inequality then gives ``P(sup_t K_t(m) >= 1/alpha) <= alpha``: looking after
every round, or after every item, never inflates the error. ``{m : K_t(m) < 1/alpha}`` is a
confidence sequence, valid at all times at once (Waudby-Smith & Ramdas, "Estimating means of
bounded random variables by betting", JRSS-B 2023; the bet is their aGRAPA rule).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

#: the largest fraction of the wealth a bet may put at risk
_CLIP = 0.5


@dataclass(frozen=True)
class Interval:
    """A confidence interval ``[low, high]`` for the mean difference."""

    low: float
    high: float

    def excludes(self, value: float) -> bool:
        return not (self.low <= value <= self.high)


class ConfidenceSequence:
    """A time-uniform ``1 - alpha`` confidence sequence for the mean of values in ``[-1, 1]``.

    Args:
        alpha: The error allowed over all looks together.
        grid: How many candidate means to track (odd, so 0 is one of them).
    """

    def __init__(self, alpha: float, *, grid: int = 801) -> None:
        if not 0 < alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), got {alpha}")
        if grid % 2 == 0:
            grid += 1
        self.alpha = alpha
        self.m = np.linspace(-1.0, 1.0, grid + 2)[1:-1]  # open interval: bets stay bounded
        self._zero = int(np.argmin(np.abs(self.m)))
        self.m[self._zero] = 0.0
        self._log_wealth = np.zeros_like(self.m)
        self._alive = np.ones_like(self.m, dtype=bool)  # running intersection over time
        self._threshold = float(np.log(1.0 / alpha))
        self._lo_cap = -_CLIP / (1.0 - self.m)  # 1 + lam (d - m) >= 1 - _CLIP for all d in [-1, 1]
        self._hi_cap = _CLIP / (1.0 + self.m)
        self.n = 0
        self._sum = 0.0
        self._sum_sq_dev = 0.25  # prior: a variance of 1/4 from one pseudo-observation at 0
        self._mean_hat = 0.0

    def update(self, values: Iterable[float]) -> None:
        """Add values, one at a time (each bet uses only what came before it)."""
        for raw in values:
            d = float(raw)
            if not -1.0 - 1e-12 <= d <= 1.0 + 1e-12 or np.isnan(d):
                raise ValueError(f"a paired difference must be in [-1, 1], got {raw!r}")
            d = min(1.0, max(-1.0, d))
            var_hat = self._sum_sq_dev / (self.n + 1)
            gap = self._mean_hat - self.m
            lam = np.clip(gap / (var_hat + gap * gap), self._lo_cap, self._hi_cap)
            self._log_wealth += np.log1p(lam * (d - self.m))
            self._alive &= self._log_wealth < self._threshold
            self.n += 1
            self._sum += d
            self._sum_sq_dev += (d - self._mean_hat) ** 2
            self._mean_hat = self._sum / (self.n + 1)  # the next bet's estimate, shrunk toward 0

    @property
    def mean(self) -> float:
        return self._sum / self.n if self.n else 0.0

    @property
    def e_value(self) -> float:
        """The evidence against ``mean = 0`` (the wealth of the bet on it), capped for display."""
        return float(np.exp(min(self._log_wealth[self._zero], 700.0)))

    @property
    def rejects_zero(self) -> bool:
        """True once ``mean = 0`` has been rejected at some look (it stays rejected)."""
        return not bool(self._alive[self._zero])

    def interval(self) -> Interval:
        """The current confidence interval (the running intersection of all earlier ones)."""
        alive = self.m[self._alive]
        if alive.size == 0:  # every grid point was rejected: collapse on the estimate
            return Interval(self.mean, self.mean)
        step = float(self.m[1] - self.m[0])
        return Interval(max(-1.0, float(alive.min()) - step), min(1.0, float(alive.max()) + step))


@dataclass(frozen=True)
class SequentialDecision:
    """Where a sequential A/B comparison stands."""

    verdict: str  # "b_better", "a_better", "equivalent", or "undecided"
    n: int
    mean_diff: float
    interval: Interval
    e_value: float

    @property
    def decided(self) -> bool:
        return self.verdict != "undecided"


class SequentialABTest:
    """Two candidates, scored on the same items: is ``b`` better, worse, or the same as ``a``?

    Stops with ``b_better``/``a_better`` when the confidence sequence for ``mean(b - a)``
    excludes 0, or with ``equivalent`` when it fits inside ``(-margin, margin)`` (a positive
    ``margin`` only). Valid however often it is looked at.
    """

    def __init__(self, alpha: float = 0.05, *, margin: float = 0.0) -> None:
        if margin < 0:
            raise ValueError(f"margin must be >= 0, got {margin}")
        self.margin = margin
        self.cs = ConfidenceSequence(alpha)

    def update(self, a: Iterable[float], b: Iterable[float]) -> SequentialDecision:
        a_, b_ = np.asarray(list(a), dtype=float), np.asarray(list(b), dtype=float)
        if a_.shape != b_.shape:
            raise ValueError("a and b need one score each per item")
        self.cs.update(b_ - a_)
        return self.decision()

    def decision(self) -> SequentialDecision:
        cs = self.cs
        interval = cs.interval()
        if cs.rejects_zero:
            if interval.low > 0 or (interval.high >= 0 and cs.mean > 0):
                verdict = "b_better"
            else:
                verdict = "a_better"
        elif self.margin > 0 and -self.margin < interval.low and interval.high < self.margin:
            verdict = "equivalent"
        else:
            verdict = "undecided"
        return SequentialDecision(verdict, cs.n, cs.mean, interval, cs.e_value)
