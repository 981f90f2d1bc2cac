"""Properties that must hold for any data."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as s

from llmlab_pipelines.stats import compare, mean_ci

pairs = s.integers(min_value=3, max_value=40).flatmap(
    lambda n: s.tuples(
        s.lists(s.floats(0, 1, allow_nan=False), min_size=n, max_size=n),
        s.lists(s.floats(0, 1, allow_nan=False), min_size=n, max_size=n),
    )
)
binary_pairs = s.integers(min_value=3, max_value=60).flatmap(
    lambda n: s.tuples(
        s.lists(s.sampled_from([0.0, 1.0]), min_size=n, max_size=n),
        s.lists(s.sampled_from([0.0, 1.0]), min_size=n, max_size=n),
    )
)


def frame(a: list[float], b: list[float]) -> pd.DataFrame:
    n = len(a)
    return pd.DataFrame(
        {"candidate": ["a"] * n + ["b"] * n, "item_id": list(range(n)) * 2, "score": a + b}
    )


@settings(max_examples=40, deadline=None)
@given(pairs)
def test_p_values_bounded_ci_contains_diff_and_swap_flips_sign(data: tuple) -> None:  # type: ignore[type-arg]
    a, b = data
    ab = compare(frame(a, b), baseline="a", n_boot=300).iloc[0]
    ba = compare(frame(b, a), baseline="a", n_boot=300).iloc[0]
    assert 0.0 <= ab["p_value"] <= 1.0 and 0.0 <= ab["p_adjusted"] <= 1.0
    assert ab["ci_low"] - 1e-12 <= ab["diff"] <= ab["ci_high"] + 1e-12
    assert ab["diff"] == -ba["diff"] or np.isclose(ab["diff"], -ba["diff"])
    assert np.isclose(ab["p_value"], ba["p_value"])


@settings(max_examples=40, deadline=None)
@given(binary_pairs)
def test_binary_data_use_mcnemar_and_bounded_wilson(data: tuple) -> None:  # type: ignore[type-arg]
    a, b = data
    row = compare(frame(a, b), baseline="a", n_boot=300).iloc[0]
    assert row["test"].startswith("mcnemar")
    assert 0.0 <= row["p_value"] <= 1.0
    mean, low, high = mean_ci(b)
    assert 0.0 <= low <= mean <= high <= 1.0
