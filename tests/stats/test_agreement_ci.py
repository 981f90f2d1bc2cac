"""Agreement with intervals: kappa and alpha against hand-computed tables and the reference
implementations, and intervals that cover the truth in a simulation."""

from __future__ import annotations

import krippendorff
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score

from llmlab_pipelines.stats import StatsError, agreement_ci


def long(a: list[float] | np.ndarray, b: list[float] | np.ndarray) -> pd.DataFrame:
    """Two raters' ratings of the same units, as the long table agreement_ci reads."""
    n = len(a)
    return pd.DataFrame(
        {
            "unit": [*range(n), *range(n)],
            "rater": ["judge"] * n + ["human"] * n,
            "value": [*a, *b],
        }
    )


def table_ratings(cells: dict[tuple[int, int], int]) -> pd.DataFrame:
    """Ratings making a 2x2 table: ``(judge, human) -> count``."""
    a: list[float] = []
    b: list[float] = []
    for (x, y), count in cells.items():
        a += [x] * count
        b += [y] * count
    return long(a, b)


def test_kappa_and_alpha_of_a_hand_computed_table() -> None:
    # judge yes & human yes 4, yes & no 1, no & yes 2, no & no 3 (10 outputs)
    # kappa: p_o = 7/10, p_e = 5/10 * 6/10 + 5/10 * 4/10 = 1/2, kappa = (0.7 - 0.5) / 0.5 = 0.4
    # alpha: coincidences o_11 = 8, o_00 = 6, o_10 = o_01 = 3; n = 20, n_1 = 11, n_0 = 9;
    #   alpha = 1 - (n - 1) (o_10 + o_01) / (2 n_1 n_0) = 1 - 19 * 6 / 198 = 14/33
    ratings = table_ratings({(1, 1): 4, (1, 0): 1, (0, 1): 2, (0, 0): 3})
    result = agreement_ci(ratings, item="unit", rater="rater", value="value", level="nominal")
    assert result["kappa"] == pytest.approx(0.4, abs=1e-12)
    assert result["alpha"] == pytest.approx(14 / 33, abs=1e-12)
    assert result["n"] == 10 and result["n_kappa"] == 10
    assert result["alpha_low"] < result["alpha"] < result["alpha_high"]
    assert result["kappa_low"] < result["kappa"] < result["kappa_high"]


def test_perfect_and_chance_agreement() -> None:
    same = table_ratings({(1, 1): 6, (0, 0): 4})
    result = agreement_ci(same, item="unit", rater="rater", value="value")
    assert result["kappa"] == 1 and result["alpha"] == 1
    # independent raters, both half yes: p_o = p_e = 1/2, kappa 0; alpha = 1 - 39/40 * ... < 0
    chance = table_ratings({(1, 1): 10, (1, 0): 10, (0, 1): 10, (0, 0): 10})
    result = agreement_ci(chance, item="unit", rater="rater", value="value")
    assert result["kappa"] == pytest.approx(0.0, abs=1e-12)
    assert result["alpha"] == pytest.approx(1 - 79 * 40 / (2 * 40 * 40), abs=1e-12)
    one_value = table_ratings({(1, 1): 5})
    result = agreement_ci(one_value, item="unit", rater="rater", value="value")
    assert np.isnan(result["alpha"]) and np.isnan(result["kappa"]) and np.isnan(result["alpha_low"])


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval"])
def test_point_estimates_match_the_reference_implementations(level: str) -> None:
    rng = np.random.default_rng(7)
    data = rng.integers(1, 6, size=(3, 80)).astype(float)
    data[0] = np.where(rng.random(80) < 0.6, data[1], data[0])
    data[rng.random((3, 80)) < 0.15] = np.nan  # missing ratings
    ratings = pd.DataFrame(
        [
            {"unit": u, "rater": r, "value": data[r, u]}
            for r in range(3)
            for u in range(80)
            if not np.isnan(data[r, u])
        ]
    )
    three = agreement_ci(ratings, item="unit", rater="rater", value="value", level=level)  # type: ignore[arg-type]
    expected = krippendorff.alpha(reliability_data=data, level_of_measurement=level)
    assert three["alpha"] == pytest.approx(expected, abs=1e-9) and "kappa" not in three
    two = ratings[ratings["rater"] < 2]
    result = agreement_ci(two, item="unit", rater="rater", value="value", level=level)  # type: ignore[arg-type]
    assert result["alpha"] == pytest.approx(
        krippendorff.alpha(reliability_data=data[:2], level_of_measurement=level), abs=1e-9
    )
    both = ~np.isnan(data[:2]).any(axis=0)
    assert result["kappa"] == pytest.approx(
        cohen_kappa_score(
            data[0, both].astype(int),
            data[1, both].astype(int),
            weights=None if level == "nominal" else "quadratic",
        ),
        abs=1e-9,
    )
    assert result["n_kappa"] == both.sum()


def test_intervals_cover_the_true_agreement() -> None:
    """A judge that matches a human (60% yes) on 80% of outputs, flipping the rest: the
    population kappa and alpha follow from the joint distribution; the 95% intervals of 200
    samples of 120 outputs should cover them about 95% of the time."""
    p_yes, p_same, n, runs = 0.6, 0.8, 120, 200
    joint = np.array(  # P(judge = j, human = h), rows j = 0, 1
        [[p_same * (1 - p_yes), (1 - p_same) * p_yes], [(1 - p_same) * (1 - p_yes), p_same * p_yes]]
    )
    judge_yes, human_yes = joint[1].sum(), joint[:, 1].sum()
    chance = judge_yes * human_yes + (1 - judge_yes) * (1 - human_yes)
    true_kappa = (np.trace(joint) - chance) / (1 - chance)
    pooled = (judge_yes + human_yes) / 2
    true_alpha = 1 - (1 - np.trace(joint)) / (2 * pooled * (1 - pooled))
    rng = np.random.default_rng(2026)
    covered = {"kappa": 0, "alpha": 0}
    for run in range(runs):
        human = (rng.random(n) < p_yes).astype(float)
        judge = np.where(rng.random(n) < p_same, human, 1 - human)
        result = agreement_ci(
            long(judge, human), item="unit", rater="rater", value="value", n_boot=500, seed=run
        )
        covered["kappa"] += result["kappa_low"] <= true_kappa <= result["kappa_high"]
        covered["alpha"] += result["alpha_low"] <= true_alpha <= result["alpha_high"]
    for name, hits in covered.items():
        assert 0.90 <= hits / runs <= 0.99, (name, hits / runs)


def test_clusters_are_resampled_whole() -> None:
    """Outputs of one item by several candidates move together: resampling items, not
    outputs, gives a wider interval when the items' outputs are copies of each other."""
    rng = np.random.default_rng(3)
    human = (rng.random(40) < 0.5).astype(float)
    judge = np.where(rng.random(40) < 0.8, human, 1 - human)
    copies = long(np.tile(judge, 5), np.tile(human, 5)).assign(item=lambda f: f["unit"] % 40)
    free = agreement_ci(copies, item="unit", rater="rater", value="value")
    clustered = agreement_ci(copies, item="unit", rater="rater", value="value", cluster="item")
    assert clustered["kappa"] == free["kappa"] and clustered["n_clusters"] == 40
    width = clustered["kappa_high"] - clustered["kappa_low"]
    assert width > 1.8 * (free["kappa_high"] - free["kappa_low"])


def test_what_cannot_be_measured_is_refused() -> None:
    ratings = long([1, 0], [1, 0])
    with pytest.raises(StatsError, match="at least 2 raters"):
        agreement_ci(
            ratings[ratings["rater"] == "judge"], item="unit", rater="rater", value="value"
        )
    apart = pd.DataFrame({"unit": [0, 1], "rater": ["judge", "human"], "value": [1, 0]})
    with pytest.raises(StatsError, match="no item was rated by two raters"):
        agreement_ci(apart, item="unit", rater="rater", value="value")
    with pytest.raises(StatsError, match="no column"):
        agreement_ci(ratings, item="unit", rater="who", value="value")
