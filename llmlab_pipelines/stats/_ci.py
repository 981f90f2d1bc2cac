"""Confidence intervals for one mean."""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats as st

from ._errors import StatsError

CIMethod = Literal["auto", "wilson", "t", "bootstrap"]


def as_values(values: ArrayLike, name: str = "values") -> np.ndarray:
    """A 1-D float array with no NaN, or a StatsError saying what is wrong."""
    try:
        array = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):
        raise StatsError(f"{name}: not numeric") from None
    if np.isnan(array).any():
        raise StatsError(f"{name}: {int(np.isnan(array).sum())} missing (NaN) values")
    if np.isinf(array).any():
        raise StatsError(f"{name}: {int(np.isinf(array).sum())} infinite values")
    return array


def is_binary(values: np.ndarray) -> bool:
    """True when every value is 0 or 1."""
    return bool(np.isin(values, (0.0, 1.0)).all())


def mean_ci(
    values: ArrayLike,
    *,
    alpha: float = 0.05,
    n_boot: int = 10_000,
    seed: int = 0,
    method: CIMethod = "auto",
) -> tuple[float, float, float]:
    """The mean and its (1 - alpha) confidence interval.

    Args:
        values: The observations (one per item).
        alpha: 1 - confidence level.
        n_boot: Resamples for ``method="bootstrap"``.
        seed: Seed of the bootstrap.
        method: ``wilson`` (score interval for 0/1 data; works from n = 1), ``t`` (Student),
            ``bootstrap`` (percentile), or ``auto``: Wilson for 0/1 data, Student-t otherwise.

    Returns:
        (mean, low, high).

    Raises:
        StatsError: no values; fewer than 2 for ``t``/``bootstrap``; non-0/1 data for Wilson.
    """
    x = as_values(values)
    if x.size == 0:
        raise StatsError("no values: a mean needs at least one")
    if method == "auto":
        method = "wilson" if is_binary(x) else "t"
    mean = float(x.mean())
    if method == "wilson":
        if not is_binary(x):
            raise StatsError("the Wilson interval needs 0/1 values")
        low, high = _wilson(int(x.sum()), x.size, alpha)
        return mean, low, high
    if x.size < 2:
        raise StatsError(f"n = {x.size}: a {method} interval needs at least 2 values")
    if method == "t":
        sem = float(x.std(ddof=1) / np.sqrt(x.size))
        if sem == 0:
            return mean, mean, mean
        half = float(st.t.ppf(1 - alpha / 2, x.size - 1)) * sem
        return mean, mean - half, mean + half
    if method == "bootstrap":
        rng = np.random.default_rng(seed)
        means = x[rng.integers(0, x.size, size=(n_boot, x.size))].mean(axis=1)
        low, high = np.quantile(means, [alpha / 2, 1 - alpha / 2])
        return mean, float(low), float(high)
    raise StatsError(f"unknown method {method!r} (known: auto, wilson, t, bootstrap)")


def _wilson(successes: int, n: int, alpha: float) -> tuple[float, float]:
    z = float(st.norm.ppf(1 - alpha / 2))
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return float(low), float(high)


def clustered_mean_ci(
    values: ArrayLike, clusters: ArrayLike, *, alpha: float = 0.05
) -> tuple[float, float, float]:
    """The mean with a cluster-robust (CR1) interval, for items that share a cluster.

    Args:
        values: One observation per item.
        clusters: The cluster of each item (e.g. the passage several questions ask about).
        alpha: 1 - confidence level.

    Returns:
        (mean, low, high), using a t distribution with (clusters - 1) degrees of freedom.
    """
    x = as_values(values)
    groups = np.asarray(clusters)
    if groups.shape[0] != x.size:
        raise StatsError(f"{x.size} values but {groups.shape[0]} cluster labels")
    labels, index = np.unique(groups, return_inverse=True)
    g = labels.size
    if g < 2:
        raise StatsError(f"{g} cluster: clustered errors need at least 2 clusters")
    mean = float(x.mean())
    sums = np.bincount(index, weights=x - mean, minlength=g)
    n = x.size
    variance = g / (g - 1) * float((sums**2).sum()) / n**2  # CR1; (n-1)/(n-k) = 1 for k = 1
    half = float(st.t.ppf(1 - alpha / 2, g - 1)) * float(np.sqrt(variance))
    return mean, mean - half, mean + half
