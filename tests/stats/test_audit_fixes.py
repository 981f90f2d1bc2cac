"""The audit's findings ("Trustworthy numbers"): each one checked against the definition."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st
from statsmodels.stats.multitest import multipletests

from llmlab_pipelines.stats import (
    agreement,
    cohen_kappa,
    compare,
    minimum_detectable_effect,
    non_inferiority,
    prob_b_better,
    rank_tiers,
    sample_size,
)


def long(**columns: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"candidate": name, "item_id": i, "score": float(v)}
            for name, values in columns.items()
            for i, v in enumerate(values)
        ]
    )


def three_candidates() -> pd.DataFrame:
    """A .70; B .64, 12 items worse than A and none better; C .63, 40 worse and 26 better."""
    a = np.zeros(200)
    a[:140] = 1
    b = a.copy()
    b[:12] = 0
    c = a.copy()
    c[100:140] = 0
    c[140:166] = 1
    return long(A=a, B=b, C=c)


def test_tier_one_holds_every_candidate_not_significantly_worse_than_the_best() -> None:
    frame = three_candidates()
    pairs = compare(frame, n_boot=200).set_index(["candidate_a", "candidate_b"])
    assert bool(pairs.loc[("A", "B"), "significant"])  # B is significantly worse than A
    assert not bool(pairs.loc[("A", "C"), "significant"])  # C is not
    tiers = rank_tiers(frame, n_boot=200)
    assert tiers == {"A": 1, "C": 1, "B": 2}


def test_all_pairs_family_puts_the_baseline_first_and_corrects_over_all_pairs() -> None:
    rng = np.random.default_rng(1)
    base = rng.normal(size=60)
    cols = {"base": base, **{f"c{i}": base + rng.normal(0.2 * i, 1, 60) for i in range(3)}}
    frame = compare(long(**cols), baseline="base", family="all_pairs", n_boot=200)
    assert len(frame) == 6 and (frame["family_size"] == 6).all()
    assert list(frame["candidate_a"][:3]) == ["base"] * 3
    np.testing.assert_allclose(
        frame["p_adjusted"], multipletests(frame["p_value"], method="holm")[1]
    )
    assert (frame["correction"] == "holm").all()


def test_difference_intervals_are_simultaneous_at_the_bonferroni_level() -> None:
    rng = np.random.default_rng(2)
    base = rng.normal(size=80)
    cols = {"base": base, **{f"c{i}": base + rng.normal(0.1, 1, 80) for i in range(4)}}
    frame = compare(long(**cols), baseline="base", n_boot=4000, seed=3)
    assert np.allclose(frame["ci_level"], 1 - 0.05 / 4)
    d = cols["c0"] - base
    row = frame[frame["candidate_b"] == "c0"].iloc[0]
    low, high = st.t.interval(1 - 0.05 / 4, d.size - 1, loc=d.mean(), scale=st.sem(d))
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high))  # the paired t-interval
    single = compare(long(base=base, c0=cols["c0"]), baseline="base", n_boot=4000, seed=3)
    assert single["ci_high"].iloc[0] - single["ci_low"].iloc[0] < high - low


def test_zero_variance_never_gives_p_zero() -> None:
    out = non_inferiority([1, 1], [1, 1], margin=0.05)
    assert out["p_value"] > 0.05 and out["non_inferior"] is False
    big = non_inferiority(np.ones(500), np.ones(500), margin=0.05)  # 500 ties: enough evidence
    assert big["non_inferior"] is True and big["p_value"] > 0
    row = compare(long(a=np.array([3.0, 7.0]), b=np.array([4.0, 8.0])), baseline="a").iloc[0]
    assert row["p_value"] == pytest.approx(0.5)  # exact sign test, 2 of 2 positive
    assert not bool(row["significant"])
    assert math.isnan(row["effect_size"]) and row["effect_kind"] == "d_z"
    cont = non_inferiority([3.0, 7.0], [4.0, 8.0], margin=0.05)
    assert cont["p_value"] == pytest.approx(0.25) and cont["non_inferior"] is False


def test_binary_non_inferiority_is_a_score_test_with_a_matching_bound() -> None:
    rng = np.random.default_rng(4)
    for n, flips in ((60, 3), (200, 10), (400, 40)):
        a = (rng.random(n) < 0.7).astype(float)
        b = a.copy()
        b[:flips] = 1 - b[:flips]
        for margin in (0.02, 0.05, 0.1):
            out = non_inferiority(a, b, margin=margin)
            assert out["method"] == "tango-score"
            assert out["non_inferior"] == (out["ci_low"] > -margin)
            assert out["ci_low"] <= out["diff"]


def test_prob_b_better_uses_the_pairing_of_binary_data() -> None:
    a = np.zeros(100)
    a[:70] = 1
    b = a.copy()
    b[70:76] = 1  # 6 items only b gets right
    b[0] = 0  # 1 item only a gets right
    p = prob_b_better(a, b)
    draws = np.random.default_rng(0).dirichlet([1 + 93 - 69, 1 + 6, 1 + 1, 1 + 69], 200_000)
    assert p == pytest.approx(float((draws[:, 1] > draws[:, 2]).mean()), abs=0.005)
    assert p > 0.95  # independent Betas said about 0.79
    assert compare(long(a=a, b=b), baseline="a", n_boot=100)["prob_b_better"].iloc[0] == p


def test_paired_minimum_detectable_effect_inverts_the_paired_sample_size() -> None:
    from llmlab_pipelines.stats._power import _paired_n

    for rate in (0.2, 0.5, 0.7):
        for n in (50, 200):
            paired = minimum_detectable_effect(n, baseline_rate=rate, paired=True)
            assert _paired_n(rate, paired, 0.05, 0.8) == pytest.approx(n)
            assert sample_size(rate, paired, paired=True) in (n, n + 1)
            assert paired != minimum_detectable_effect(n, baseline_rate=rate, paired=False)


def test_effect_kind_names_the_effect_size() -> None:
    binary = compare(long(a=np.array([1, 0, 1, 0]), b=np.array([1, 1, 1, 0])), baseline="a")
    assert binary["effect_kind"].iloc[0] == "risk_difference"
    graded = compare(long(a=np.array([0.1, 0.5, 0.3]), b=np.array([0.2, 0.4, 0.9])), baseline="a")
    assert graded["effect_kind"].iloc[0] == "d_z"


def test_agreement_on_constant_ratings_is_undefined_and_says_why() -> None:
    ratings = pd.DataFrame(
        {"item_id": [1, 2, 3, 1, 2, 3], "judge": ["x"] * 3 + ["y"] * 3, "score": [4] * 6}
    )
    out = agreement(ratings)
    assert math.isnan(out["krippendorff_alpha"]) and "undefined" in str(out["note"])
    assert math.isnan(out["cohen_kappa"])
    assert math.isnan(cohen_kappa(np.ones(5), np.ones(5)))


def test_missing_scores_are_left_out_on_both_sides_and_infinite_ones_refused() -> None:
    frame = long(a=np.array([1.0, 0.0, 1.0, 1.0, 0.0]), b=np.array([1.0, 1.0, np.nan, 0.0, 1.0]))
    row = compare(frame, baseline="a", n_boot=100).iloc[0]
    assert row["n"] == 4 and row["mean_a"] == pytest.approx(0.5)
    bad = long(a=np.array([1.0, 0.5, np.inf]), b=np.array([1.0, 0.2, 0.3]))
    with pytest.raises(ValueError, match="infinite"):
        compare(bad, baseline="a")


def test_sign_test_reference() -> None:
    row = compare(long(a=np.zeros(6) + 0.2, b=np.zeros(6) + 0.5), baseline="a").iloc[0]
    assert row["p_value"] == pytest.approx(st.binomtest(6, 6).pvalue)


def test_corrections_match_statsmodels_on_random_families_with_ties() -> None:
    from llmlab_pipelines.stats._compare import adjust

    rng = np.random.default_rng(9)
    for _ in range(300):
        m = int(rng.integers(1, 12))
        p = rng.random(m) ** 3
        p[: m // 3] = p[0]
        for method in ("holm", "bonferroni", "fdr_bh"):
            np.testing.assert_allclose(adjust(p, method), multipletests(p, method=method)[1])


# The independent review of the fixes above.


@pytest.mark.parametrize(
    ("a", "b", "p"),
    [([0.3, 0.7], [0.26, 0.66], 0.5), ([1 / 3, 2 / 3, 1.0], [2 / 3, 1.0, 4 / 3], 0.25)],
)
def test_rounding_error_does_not_defeat_the_zero_variance_guard(
    a: list[float], b: list[float], p: float
) -> None:
    d = np.array(b) - np.array(a)
    assert np.ptp(d) > 0  # equal differences, unequal in floating point
    row = compare(long(a=np.array(a), b=np.array(b)), baseline="a").iloc[0]
    assert row["test"] == "sign-exact" and row["p_value"] == pytest.approx(p)
    assert not bool(row["significant"]) and math.isnan(row["effect_size"])
    out = non_inferiority(a, b, margin=0.05)
    assert out["method"] == "sign-exact" and out["non_inferior"] is False
    assert out["p_value"] == pytest.approx(0.5 ** len(a))


def test_paired_binary_interval_is_newcombes_hybrid_score_interval() -> None:
    # Fagerland, Lydersen & Laake (2017), Cavo et al. 2012: a 2x2 paired table [[59, 6], [16, 80]]
    # (rows: before, columns: after); Newcombe's square-and-add interval for
    # p_before - p_after is -0.0621 (95% CI -0.1186 to -0.0046).
    before = np.array([1] * 65 + [0] * 96, dtype=float)
    after = np.array([1] * 59 + [0] * 6 + [1] * 16 + [0] * 80, dtype=float)
    row = compare(long(after=after, before=before), baseline="after").iloc[0]
    assert row["diff"] == pytest.approx(-0.0621, abs=5e-5)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((-0.1186, -0.0046), abs=5e-5)


@pytest.mark.parametrize("n", [5, 10, 30])
def test_binary_difference_interval_is_calibrated_under_the_null_at_small_n(n: int) -> None:
    from llmlab_pipelines.stats._paired import compare_pair

    rng = np.random.default_rng(n)
    runs, misses = 1500, 0
    for _ in range(runs):
        a, b = (rng.random((2, n)) < 0.7).astype(float)
        row = compare_pair(a, b, test=None, alpha=0.05, n_boot=400, seed=0)
        misses += not row.ci_low <= 0 <= row.ci_high
    assert misses / runs <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / runs), misses / runs


def test_agreement_on_constant_pairable_ratings_says_why() -> None:
    ratings = pd.DataFrame(
        {"item_id": [1, 2, 1, 2, 3], "judge": ["x", "x", "y", "y", "y"], "score": [4, 4, 4, 4, 1]}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = agreement(ratings)
    assert math.isnan(out["krippendorff_alpha"]) and "undefined" in str(out["note"])


def test_a_pair_with_too_few_scored_items_is_a_row_with_a_note_not_an_error() -> None:
    nan = np.nan
    frame = long(
        a=np.array([1.0, 0.0, 1.0, 1.0, 0.0, 1.0]),
        b=np.array([1.0, 1.0, 1.0, 0.0, 1.0, 1.0]),
        broken=np.array([1.0, nan, nan, nan, nan, nan]),
    )
    rows = compare(frame, baseline="a", family="all_pairs", n_boot=100)
    assert len(rows) == 3
    skipped = rows[rows["candidate_b"] == "broken"]
    assert len(skipped) == 2 and (~skipped["significant"]).all()
    assert skipped["p_value"].isna().all() and skipped["p_adjusted"].isna().all()
    assert all("'broken'" in note and "1 scored item" in note for note in skipped["note"])
    fine = rows[rows["candidate_b"] == "b"].iloc[0]
    assert fine["note"] == "" and fine["p_adjusted"] == pytest.approx(fine["p_value"])  # m' = 1
