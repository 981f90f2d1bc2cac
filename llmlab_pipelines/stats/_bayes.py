"""The probability that b beats a, from the posterior (binary) or the bootstrap (continuous)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats as st

from ._ci import as_values, is_binary
from ._errors import StatsError


def prob_b_better(
    a: ArrayLike, b: ArrayLike, *, binary: bool | None = None, n_draws: int = 20_000, seed: int = 0
) -> float:
    """P(mean of b > mean of a).

    Args:
        a: The first candidate's per-item scores.
        b: The second candidate's, on the same items.
        binary: Treat as 0/1 data; detected when None.
        n_draws: Bootstrap resamples (continuous data only).
        seed: Random seed (continuous data only).

    Binary data are paired: a Dirichlet(1, 1, 1, 1) posterior on the four cells (a, b) in
    {0, 1}², so P(p_b > p_a) = P(p01 > p10) where p01 is "a wrong, b right" and p10 the
    reverse. By the Dirichlet's aggregation property p01 / (p01 + p10) ~ Beta(1 + n01, 1 + n10),
    so the answer is exact: P(Beta(1 + n01, 1 + n10) > 1/2); items both got right or both got
    wrong do not move it. Continuous data use the bootstrap distribution of the mean paired
    difference (ties count one half).
    """
    x, y = as_values(a, "a"), as_values(b, "b")
    if x.size != y.size or x.size == 0:
        raise StatsError(f"a and b must be paired and non-empty (got {x.size} and {y.size})")
    if binary if binary is not None else (is_binary(x) and is_binary(y)):
        b_only = int(((y == 1) & (x == 0)).sum())
        a_only = int(((x == 1) & (y == 0)).sum())
        return float(st.beta.sf(0.5, 1 + b_only, 1 + a_only))
    rng = np.random.default_rng(seed)
    d = y - x
    means = (
        d[rng.integers(0, d.size, size=(n_draws, d.size))].mean(axis=1)
        if d.size <= 5000
        else np.array([d[rng.integers(0, d.size, d.size)].mean() for _ in range(n_draws)])
    )
    return float((means > 0).mean() + 0.5 * (means == 0).mean())
