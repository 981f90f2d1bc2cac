"""The statistics agree with scipy, statsmodels, scikit-learn and krippendorff."""

from __future__ import annotations

import krippendorff
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats as st
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_confint, proportion_effectsize

from llmlab_pipelines.stats import (
    StatsError,
    agreement,
    clustered_mean_ci,
    compare,
    mean_ci,
    minimum_detectable_effect,
    non_inferiority,
    sample_size,
)

REL = 1e-9


def long(**columns: np.ndarray) -> pd.DataFrame:
    rows = [
        {"candidate": name, "item_id": i, "score": float(v)}
        for name, values in columns.items()
        for i, v in enumerate(values)
    ]
    return pd.DataFrame(rows)


@pytest.mark.parametrize(("seed", "n", "pa", "pb"), [(0, 40, 0.5, 0.6), (1, 300, 0.3, 0.5)])
def test_mcnemar_matches_statsmodels(seed: int, n: int, pa: float, pb: float) -> None:
    rng = np.random.default_rng(seed)
    a, b = (rng.random(n) < pa).astype(float), (rng.random(n) < pb).astype(float)
    row = compare(long(a=a, b=b), baseline="a", n_boot=500).iloc[0]
    table = pd.crosstab(a, b).reindex(index=[0, 1], columns=[0, 1], fill_value=0).to_numpy()
    discordant = table[0, 1] + table[1, 0]
    exact = discordant < 25
    ref = mcnemar(table, exact=exact, correction=True).pvalue
    assert row["test"] == ("mcnemar-exact" if exact else "mcnemar-chi2")
    assert row["p_value"] == pytest.approx(ref, rel=REL)
    assert row["effect_size"] == pytest.approx(b.mean() - a.mean(), rel=REL)


def test_paired_t_and_wilcoxon_match_scipy() -> None:
    rng = np.random.default_rng(3)
    a = rng.normal(0.5, 0.2, 60)
    b = a + rng.normal(0.05, 0.1, 60)
    t_row = compare(long(a=a, b=b), baseline="a", n_boot=500).iloc[0]
    w_row = compare(long(a=a, b=b), baseline="a", test="wilcoxon", n_boot=500).iloc[0]
    assert t_row["test"] == "ttest"
    assert t_row["p_value"] == pytest.approx(st.ttest_rel(b, a).pvalue, rel=REL)
    assert w_row["p_value"] == pytest.approx(st.wilcoxon(b, a).pvalue, rel=REL)
    d = b - a
    assert t_row["effect_size"] == pytest.approx(d.mean() / d.std(ddof=1), rel=REL)
    assert t_row["ci_low"] < t_row["diff"] < t_row["ci_high"]


@pytest.mark.parametrize("correction", ["holm", "bonferroni", "fdr_bh"])
def test_corrections_match_statsmodels(correction: str) -> None:
    rng = np.random.default_rng(5)
    base = rng.normal(size=50)
    columns = {"base": base, **{f"c{i}": base + rng.normal(0.1 * i, 1, 50) for i in range(5)}}
    frame = compare(long(**columns), baseline="base", correction=correction, n_boot=200)  # type: ignore[arg-type]
    expected = multipletests(frame["p_value"], method=correction)[1]
    np.testing.assert_allclose(frame["p_adjusted"], expected, rtol=REL)
    assert (frame["significant"] == (frame["p_adjusted"] < 0.05)).all()


def test_repeats_are_averaged_per_item_and_pairs_use_shared_items() -> None:
    frame = pd.DataFrame(
        {
            "candidate": ["a", "a", "a", "a", "b", "b", "b"],
            "item_id": [1, 1, 2, 3, 1, 2, 4],
            "score": [0.0, 1.0, 0.2, 0.9, 1.0, 0.4, 0.0],
        }
    )
    row = compare(frame, baseline="a", n_boot=100).iloc[0]
    assert row["n"] == 2  # items 1 and 2
    assert row["mean_a"] == pytest.approx((0.5 + 0.2) / 2)
    assert row["diff"] == pytest.approx(((1.0 - 0.5) + (0.4 - 0.2)) / 2)


def test_wilson_and_t_intervals_match_references() -> None:
    x = np.array([1, 0, 1, 1, 0, 1, 1, 1, 0, 1], dtype=float)
    _, low, high = mean_ci(x)
    ref = proportion_confint(int(x.sum()), x.size, alpha=0.05, method="wilson")
    assert (low, high) == pytest.approx(ref, rel=REL)
    y = np.array([0.2, 0.5, 0.9, 0.4, 0.7])
    _, low, high = mean_ci(y)
    ref = st.t.interval(0.95, y.size - 1, loc=y.mean(), scale=st.sem(y))
    assert (low, high) == pytest.approx(ref, rel=REL)


def test_clustered_ci_matches_statsmodels_cluster_robust_ols() -> None:
    rng = np.random.default_rng(11)
    clusters = np.repeat(np.arange(15), 4)
    y = rng.normal(size=15)[clusters] + rng.normal(0, 0.5, clusters.size)
    fit = sm.OLS(y, np.ones_like(y)).fit(
        cov_type="cluster", cov_kwds={"groups": clusters}, use_t=True
    )
    mean, low, high = clustered_mean_ci(y, clusters)
    assert mean == pytest.approx(fit.params[0], rel=REL)
    assert (low, high) == pytest.approx(tuple(fit.conf_int()[0]), rel=1e-6)


def test_sample_size_matches_statsmodels_and_mde_inverts_it() -> None:
    h = proportion_effectsize(0.6, 0.5)
    ref = NormalIndPower().solve_power(effect_size=abs(h), alpha=0.05, power=0.8)
    assert sample_size(0.5, 0.1) == int(np.ceil(ref))
    n = sample_size(0.5, 0.1)
    assert minimum_detectable_effect(n, baseline_rate=0.5, paired=False) <= 0.1 + 1e-9
    assert minimum_detectable_effect(n - 5, baseline_rate=0.5, paired=False) > 0.1
    z = st.norm.ppf(0.975) + st.norm.ppf(0.8)
    assert minimum_detectable_effect(100, sd=0.3) == pytest.approx(z * 0.3 / 10, rel=REL)
    assert sample_size(0.5, 0.1, paired=True) > 0


def test_agreement_matches_sklearn_and_krippendorff() -> None:
    rng = np.random.default_rng(2)
    truth = rng.integers(1, 6, 80)
    r1 = np.clip(truth + rng.integers(-1, 2, 80), 1, 5)
    r2 = np.clip(truth + rng.integers(-1, 2, 80), 1, 5)
    ratings = pd.DataFrame(
        {
            "item_id": np.tile(np.arange(80), 2),
            "judge": np.repeat(["j1", "j2"], 80),
            "score": np.concatenate([r1, r2]),
        }
    )
    out = agreement(ratings, level="ordinal")
    assert out["cohen_kappa"] == pytest.approx(
        cohen_kappa_score(r1, r2, weights="quadratic"), rel=REL
    )
    ref = krippendorff.alpha(reliability_data=np.vstack([r1, r2]), level_of_measurement="ordinal")
    assert out["krippendorff_alpha"] == pytest.approx(ref, rel=REL)
    nominal = agreement(ratings, level="nominal")
    assert nominal["cohen_kappa"] == pytest.approx(cohen_kappa_score(r1, r2), rel=REL)


def test_non_inferiority_one_sided_t() -> None:
    rng = np.random.default_rng(4)
    a = rng.normal(0.7, 0.1, 50)
    b = a - 0.01 + rng.normal(0, 0.02, 50)
    out = non_inferiority(a, b, margin=0.05)
    ref = st.ttest_1samp(b - a + 0.05, 0.0, alternative="greater").pvalue
    assert out["p_value"] == pytest.approx(ref, rel=REL)
    assert out["non_inferior"] is True
    assert non_inferiority(a, a - 0.2, margin=0.05)["non_inferior"] is False


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"baseline": "zzz"}, "unknown baseline 'zzz'"),
        ({"metric": "nope"}, "no column"),
        ({"correction": "sidak"}, "unknown correction"),
        ({"test": "anova"}, "unknown test"),
    ],
)
def test_bad_input_is_rejected_clearly(kwargs: dict[str, str], message: str) -> None:
    frame = long(a=np.array([1.0, 0.0, 1.0]), b=np.array([0.0, 1.0, 1.0]))
    with pytest.raises(StatsError, match=message):
        compare(frame, **kwargs)  # type: ignore[arg-type]


def test_no_shared_items_or_too_few_are_skipped_rows_and_bad_input_errors() -> None:
    disjoint = pd.DataFrame({"candidate": ["a", "b"], "item_id": [1, 2], "score": [1.0, 0.0]})
    row = compare(disjoint, baseline="a").iloc[0]
    assert row["n"] == 0 and np.isnan(row["p_value"]) and "share 0 scored" in row["note"]
    one = pd.DataFrame({"candidate": ["a", "b"], "item_id": [1, 1], "score": [1.0, 0.0]})
    row = compare(one, baseline="a").iloc[0]
    assert not row["significant"] and "at least 2" in row["note"]
    text = pd.DataFrame({"candidate": ["a", "b"], "item_id": [1, 1], "score": ["x", "y"]})
    with pytest.raises(StatsError, match="not numeric"):
        compare(text, metric="score")
    with pytest.raises(StatsError):
        mean_ci([])
    with pytest.raises(StatsError, match="exactly one"):
        minimum_detectable_effect(10)
