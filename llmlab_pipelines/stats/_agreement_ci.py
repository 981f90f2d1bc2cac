"""Agreement with confidence intervals: Krippendorff's alpha and Cohen's kappa, bootstrapped.

Both statistics are sums over units (an output rated by several raters) of small tables:
alpha reads the coincidence matrix, kappa the two raters' contingency table. Each unit's (or
cluster's) table is computed once; a bootstrap resample is then a weighted sum of them, so
thousands of resamples cost one matrix product.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._agreement import Level
from ._errors import StatsError

#: What :func:`agreement_ci` returns, beside the point estimates.
CI_KEYS = ("alpha_low", "alpha_high", "kappa_low", "kappa_high")


def _coincidences(data: np.ndarray, k: int) -> np.ndarray:
    """Per unit (column of ``data``, category indices, NaN = unrated): its coincidence matrix
    ``o_ck = (n_uc n_uk - [c = k] n_uc) / (m_u - 1)``; zero for units rated fewer than twice."""
    counts = np.stack([(data == c).sum(axis=0) for c in range(k)], axis=1).astype(float)
    m = counts.sum(axis=1)
    pairs = counts[:, :, None] * counts[:, None, :] - np.einsum("uc,ck->uck", counts, np.eye(k))
    with np.errstate(invalid="ignore", divide="ignore"):
        out = pairs / (m - 1)[:, None, None]
    out[m < 2] = 0.0
    return out


def _delta(values: np.ndarray, totals: np.ndarray, level: Level) -> np.ndarray:
    """Krippendorff's squared distance between categories; ``totals`` (B, k) for ordinal."""
    v = values.astype(float)
    if level == "nominal":
        return (v[:, None] != v[None, :]).astype(float)[None]
    if level == "interval":
        return ((v[:, None] - v[None, :]) ** 2)[None]
    if level == "ratio":
        with np.errstate(invalid="ignore", divide="ignore"):
            d = ((v[:, None] - v[None, :]) / (v[:, None] + v[None, :])) ** 2
        return np.nan_to_num(d)[None]
    cum = np.concatenate([np.zeros((totals.shape[0], 1)), np.cumsum(totals, axis=1)], axis=1)
    lo = np.minimum.outer(np.arange(v.size), np.arange(v.size))
    hi = np.maximum.outer(np.arange(v.size), np.arange(v.size))
    between = cum[:, hi + 1] - cum[:, lo]  # sum of n_g for g from c to k (inclusive)
    return (between - (totals[:, :, None] + totals[:, None, :]) / 2) ** 2


def _alpha(o: np.ndarray, values: np.ndarray, level: Level) -> np.ndarray:
    """Alpha of each coincidence matrix in ``o`` (B, k, k); NaN where it is 0/0."""
    totals = o.sum(axis=2)
    n = totals.sum(axis=1)
    delta = _delta(values, totals, level)
    observed = (o * delta).sum(axis=(1, 2))
    expected = (totals[:, :, None] * totals[:, None, :] * delta).sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(expected > 0, 1 - (n - 1) * observed / expected, np.nan)


def _kappa(t: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Cohen's kappa of each contingency table in ``t`` (B, k, k); NaN where it is 0/0."""
    total = t.sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        chance = t.sum(axis=2)[:, :, None] * t.sum(axis=1)[:, None, :] / total[:, None, None]
        expected = (weights * chance).sum(axis=(1, 2))
        return np.where(expected > 0, 1 - (weights * t).sum(axis=(1, 2)) / expected, np.nan)


def agreement_ci(
    ratings: pd.DataFrame,
    *,
    item: str = "item_id",
    rater: str = "judge",
    value: str = "score",
    level: Level = "nominal",
    cluster: str | None = None,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
) -> dict[str, float]:
    """Krippendorff's alpha and (two raters) Cohen's kappa with percentile-bootstrap intervals.

    Args:
        ratings: Long table: one row per (unit, rater) with a value.
        item: The unit column (what is rated: an output).
        rater: The rater column.
        value: The rating column.
        level: How values compare, for alpha (kappa is unweighted for ``nominal``, quadratic
            over the ordered categories otherwise, as :func:`cohen_kappa`).
        cluster: A column grouping units that are not independent (the dataset item of an
            output, when several candidates answered it): whole clusters are resampled.
            Default: each unit is its own cluster.
        confidence: The intervals' level.
        n_boot: Bootstrap resamples.
        seed: The bootstrap's seed.

    Returns:
        ``alpha``, ``alpha_low``, ``alpha_high``, ``n`` (units rated at least twice: what
        alpha reads), ``n_clusters``; with exactly two raters also ``kappa``, ``kappa_low``,
        ``kappa_high`` and ``n_kappa`` (units both rated). A statistic that is 0/0 (no
        variation) is NaN, and so are its bounds when more than half the resamples are.

    Raises:
        StatsError: a missing column, fewer than two raters, or no unit rated twice.
    """
    missing = [c for c in (item, rater, value, *([cluster] if cluster else [])) if c not in ratings]
    if missing:
        raise StatsError(f"ratings has no column(s) {missing}")
    table = ratings.pivot_table(index=rater, columns=item, values=value, aggfunc="first")
    if table.shape[0] < 2:
        raise StatsError(f"agreement needs at least 2 raters, got {table.shape[0]}")
    raw = table.to_numpy(dtype=float)
    rated = np.sum(~np.isnan(raw), axis=0) >= 2
    if not rated.any():
        raise StatsError("no item was rated by two raters")
    raw, units = raw[:, rated], table.columns[rated]
    values = np.unique(raw[~np.isnan(raw)])
    data = np.where(np.isnan(raw), np.nan, np.searchsorted(values, np.nan_to_num(raw)))
    if cluster:
        groups = ratings.drop_duplicates(item).set_index(item)[cluster].loc[units]
        codes, names = pd.factorize(groups.astype(str))
    else:
        codes, names = np.arange(units.size), units
    weights = (
        np.random.default_rng(seed)
        .multinomial(names.size, np.full(names.size, 1 / names.size), size=n_boot)
        .astype(float)
    )
    k = values.size
    per_cluster = np.zeros((names.size, k * k))
    np.add.at(per_cluster, codes, _coincidences(data, k).reshape(units.size, k * k))
    full = per_cluster.sum(axis=0).reshape(1, k, k)
    boot = (weights @ per_cluster).reshape(n_boot, k, k)
    out = {"n": float(units.size), "n_clusters": float(names.size)}
    out.update(
        _summary("alpha", _alpha(full, values, level), _alpha(boot, values, level), confidence)
    )
    if table.shape[0] == 2:
        out.update(_kappa_ci(data, codes, weights, level, confidence))
    return out


def _kappa_ci(
    data: np.ndarray, codes: np.ndarray, weights: np.ndarray, level: Level, confidence: float
) -> dict[str, float]:
    """Kappa of two raters' category indices (``data``, 2 x units) with its interval, the
    clusters (``codes``) resampled with ``weights`` (resamples x clusters)."""
    k = int(np.nanmax(data)) + 1
    both = ~np.isnan(data).any(axis=0)
    grid = np.abs(np.subtract.outer(np.arange(k), np.arange(k))).astype(float)
    cost = (grid > 0).astype(float) if level == "nominal" else grid**2
    cells = np.zeros((weights.shape[1], k * k))
    np.add.at(cells, (codes[both], (data[0, both] * k + data[1, both]).astype(int)), 1.0)
    point = _kappa(cells.sum(axis=0).reshape(1, k, k), cost)
    boot = _kappa((weights @ cells).reshape(weights.shape[0], k, k), cost)
    return {**_summary("kappa", point, boot, confidence), "n_kappa": float(both.sum())}


def _summary(name: str, point: np.ndarray, boot: np.ndarray, confidence: float) -> dict[str, float]:
    """The point estimate and its percentile interval (NaN when most resamples are 0/0)."""
    tail = (1 - confidence) / 2 * 100
    estimate = float(point[0])
    if np.isnan(estimate) or np.isnan(boot).mean() > 0.5:
        return {name: estimate, f"{name}_low": np.nan, f"{name}_high": np.nan}
    low, high = np.nanpercentile(boot, [tail, 100 - tail])
    return {name: estimate, f"{name}_low": float(low), f"{name}_high": float(high)}
