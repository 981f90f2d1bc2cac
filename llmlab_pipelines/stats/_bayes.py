"""The probability that b beats a, from the posterior (binary) or the bootstrap (continuous)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

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
        n_draws: Posterior draws (binary) or bootstrap resamples (continuous).
        seed: Random seed.

    Binary data use independent Beta(1, 1) priors on each success rate; continuous data use
    the bootstrap distribution of the mean paired difference (ties count one half).
    """
    x, y = as_values(a, "a"), as_values(b, "b")
    if x.size != y.size or x.size == 0:
        raise StatsError(f"a and b must be paired and non-empty (got {x.size} and {y.size})")
    rng = np.random.default_rng(seed)
    if binary if binary is not None else (is_binary(x) and is_binary(y)):
        pa = rng.beta(1 + x.sum(), 1 + x.size - x.sum(), n_draws)
        pb = rng.beta(1 + y.sum(), 1 + y.size - y.sum(), n_draws)
        return float((pb > pa).mean())
    d = y - x
    means = (
        d[rng.integers(0, d.size, size=(n_draws, d.size))].mean(axis=1)
        if d.size <= 5000
        else np.array([d[rng.integers(0, d.size, d.size)].mean() for _ in range(n_draws)])
    )
    return float((means > 0).mean() + 0.5 * (means == 0).mean())
