"""Agreement between raters (judges, humans): Krippendorff's alpha and Cohen's kappa."""

from __future__ import annotations

from typing import Literal

import krippendorff
import numpy as np
import pandas as pd

from ._errors import StatsError

Level = Literal["nominal", "ordinal", "interval", "ratio"]


def cohen_kappa(a: np.ndarray, b: np.ndarray, *, weights: str | None = None) -> float:
    """Cohen's kappa of two raters on the same items; ``weights`` None, linear or quadratic.

    NaN when both raters give one and the same label throughout: chance agreement is then 1
    and kappa is 0/0, undefined.
    """
    labels = np.unique(np.concatenate([a, b]))
    k = labels.size
    if k < 2:
        return float("nan")
    ia, ib = np.searchsorted(labels, a), np.searchsorted(labels, b)
    observed = np.zeros((k, k))
    np.add.at(observed, (ia, ib), 1)
    expected = np.outer(observed.sum(1), observed.sum(0)) / observed.sum()
    grid = np.abs(np.subtract.outer(np.arange(k), np.arange(k))).astype(float)
    cost = {None: (grid > 0).astype(float), "linear": grid, "quadratic": grid**2}[weights]
    return float(1 - (cost * observed).sum() / (cost * expected).sum())


def agreement(
    ratings: pd.DataFrame,
    *,
    item: str = "item_id",
    rater: str = "judge",
    value: str = "score",
    level: Level = "ordinal",
) -> dict[str, float | str]:
    """How much raters agree beyond chance.

    Args:
        ratings: Long table: one row per (item, rater) with a value.
        item: The item column.
        rater: The rater column.
        value: The rating column.
        level: Measurement level: ``nominal``, ``ordinal``, ``interval`` or ``ratio``.

    Returns:
        ``krippendorff_alpha``, ``n_items``, ``n_raters``; with exactly two raters also
        ``cohen_kappa`` on items both rated (unweighted for nominal, quadratic otherwise).
        When every rating of the items rated at least twice (the only ones α reads) is the
        same value, α (and κ) are undefined (0/0: no variation to agree on): they are NaN and
        ``note`` says why.
    """
    missing = [c for c in (item, rater, value) if c not in ratings.columns]
    if missing:
        raise StatsError(f"ratings has no column(s) {missing}")
    if level not in ("nominal", "ordinal", "interval", "ratio"):
        raise StatsError(f"unknown level {level!r}")
    table = ratings.pivot_table(index=rater, columns=item, values=value, aggfunc="first")
    if table.shape[0] < 2:
        raise StatsError(f"agreement needs at least 2 raters, got {table.shape[0]}")
    data = table.to_numpy(dtype=float)
    if (np.sum(~np.isnan(data), axis=0) >= 2).sum() < 1:
        raise StatsError("no item was rated by two raters")
    out: dict[str, float | str] = {
        "n_items": float(table.shape[1]),
        "n_raters": float(table.shape[0]),
    }
    pairable = data[:, np.sum(~np.isnan(data), axis=0) >= 2]  # what alpha reads
    values = pairable[~np.isnan(pairable)]
    if np.unique(values).size < 2:
        out["krippendorff_alpha"] = float("nan")
        out["note"] = (
            f"every rating of the items rated at least twice is {values[0]:g}: agreement beyond "
            "chance is undefined (expected disagreement is 0, so alpha = 0/0)"
        )
    else:
        out["krippendorff_alpha"] = float(
            krippendorff.alpha(reliability_data=data, level_of_measurement=level)
        )
    if table.shape[0] == 2:
        both = data[:, ~np.isnan(data).any(axis=0)]
        out["cohen_kappa"] = cohen_kappa(
            both[0], both[1], weights=None if level == "nominal" else "quadratic"
        )
    return out
