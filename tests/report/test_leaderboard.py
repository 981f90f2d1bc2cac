"""The leaderboard: ranks, tiers, the plain verdict, the plots."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

from llmlab_pipelines.report import (
    build_leaderboard,
    detectable_effect,
    items_needed,
    plot_forest,
)
from llmlab_pipelines.stats import (
    COMPARISON_COLUMNS,
    StatsError,
    compare,
    minimum_detectable_effect,
    sample_size,
)


def scores(rates: dict[str, float], n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for name, rate in rates.items():
        hits = rng.random(n) < rate
        rows += [
            {
                "candidate": name,
                "item_id": f"i{i}",
                "score": float(h),
                "error": None,
                "prompt_tokens": 10,
                "completion_tokens": 2,
                "cost_usd": 0.001,
                "latency_s": 0.1,
            }
            for i, h in enumerate(hits)
        ]
    return pd.DataFrame(rows)


def board_for(frame: pd.DataFrame, baseline: str) -> pd.DataFrame:
    comparisons = compare(frame, metric="score", baseline=baseline, family="all_pairs", n_boot=500)
    return build_leaderboard(frame, comparisons, metric="score", baseline=baseline)


def test_ranks_tiers_and_differences() -> None:
    frame = scores({"base": 0.2, "good": 0.8, "good2": 0.78, "meh": 0.25}, n=200)
    board = board_for(frame, "base").set_index("candidate")
    assert board.loc["good", "rank"] < board.loc["meh", "rank"]
    assert board.loc["good", "tier"] == board.loc["good2", "tier"] == 1
    assert board.loc["base", "tier"] == board.loc["meh", "tier"] == 2
    assert bool(board.loc["good", "significant"]) and not bool(board.loc["meh", "significant"])
    assert board.loc["base", "diff"] == 0.0
    assert board.loc["good", "diff"] == pytest.approx(
        board.loc["good", "mean"] - board.loc["base", "mean"]
    )
    assert board.loc["good", "cost_per_1k"] == pytest.approx(1.0)
    assert board.loc["good", "tokens"] == 200 * 12


def test_unseparable_board_says_how_many_items_would_do() -> None:
    frame = scores({"base": 0.5, "other": 0.56}, n=40, seed=3)
    board = board_for(frame, "base")
    assert set(board["tier"]) == {1}
    needed = items_needed(board, "base", binary=True)
    diff = float(board.loc[board["candidate"] == "other", "diff"].iloc[0])
    rate = float(board.loc[board["candidate"] == "base", "mean"].iloc[0])
    assert needed == sample_size(rate, abs(diff), paired=True) and needed > 40


def test_detectable_effect_uses_the_baseline_rate() -> None:
    frame = scores({"base": 0.3, "x": 0.5}, n=100)
    board = board_for(frame, "base")
    rate = float(board.loc[board["candidate"] == "base", "mean"].iloc[0])
    assert detectable_effect(board, "base", binary=True) == pytest.approx(
        minimum_detectable_effect(100, baseline_rate=rate)
    )


def test_forest_plot_is_a_png() -> None:
    frame = scores({"base": 0.3, "x": 0.5, "y": 0.4}, n=60)
    png = plot_forest(board_for(frame, "base"), metric="score", baseline="base", title="t")
    assert png[:4] == b"\x89PNG" and len(png) > 5000


def test_tiers_need_one_all_pairs_family() -> None:
    frame = scores({"base": 0.3, "x": 0.5, "y": 0.4}, n=60)
    only_baseline = compare(frame, metric="score", baseline="base", n_boot=100)
    with pytest.raises(StatsError, match="every pair"):
        build_leaderboard(frame, only_baseline, metric="score", baseline="base")


def test_board_verdicts_and_tiers_read_the_same_adjusted_p_values() -> None:
    frame = scores({"base": 0.5, "a": 0.62, "b": 0.6, "c": 0.55}, n=150, seed=7)
    pairs = compare(frame, metric="score", baseline="base", family="all_pairs", n_boot=200)
    board = build_leaderboard(frame, pairs, metric="score", baseline="base").set_index("candidate")
    raw = compare(frame, metric="score", family="all_pairs", correction="none", n_boot=50)
    holm = multipletests(raw["p_value"], method="holm")[1]
    by_pair = {
        frozenset((a, b)): p
        for a, b, p in zip(raw["candidate_a"], raw["candidate_b"], holm, strict=True)
    }
    for name in ("a", "b", "c"):
        assert board.loc[name, "p_adjusted"] == pytest.approx(by_pair[frozenset(("base", name))])
    assert board["diff_level"].dropna().round(6).unique().tolist() == [round(1 - 0.05 / 6, 6)]


def with_costs(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(
        error=None, prompt_tokens=1, completion_tokens=1, cost_usd=0.0, latency_s=0.1
    )


def test_board_is_sorted_by_tier_then_mean_so_tiers_never_go_down() -> None:
    # A .70; B .64, worse than A on 12 items and better on none (significant); C .63, worse on
    # 40 and better on 26 (not significant): tiers A 1, C 1, B 2, though B's mean beats C's.
    a = np.zeros(200)
    a[:140] = 1
    b, c = a.copy(), a.copy()
    b[:12] = 0
    c[100:140] = 0
    c[140:166] = 1
    frame = with_costs(
        pd.DataFrame(
            {
                "candidate": np.repeat(["A", "B", "C"], 200),
                "item_id": np.tile(np.arange(200), 3),
                "score": np.concatenate([a, b, c]),
            }
        )
    )
    board = board_for(frame, "A")
    assert list(board["candidate"]) == ["A", "C", "B"]
    assert list(board["tier"]) == [1, 1, 2] and list(board["rank"]) == [1, 2, 3]
    assert board["mean"].iloc[2] > board["mean"].iloc[1]  # B: a higher mean, a worse tier


def test_a_candidate_with_almost_every_generation_failed_shows_as_not_compared() -> None:
    from llmlab_pipelines.report import leaderboard_markdown

    rng = np.random.default_rng(5)
    broken = np.full(30, np.nan)
    broken[0] = 0.4
    frame = with_costs(
        pd.DataFrame(
            {
                "candidate": np.repeat(["base", "x", "broken"], 30),
                "item_id": np.tile(np.arange(30), 3),
                "score": np.concatenate([rng.random(30), rng.random(30), broken]),
            }
        )
    )
    board = board_for(frame, "base").set_index("candidate")
    assert board.loc["broken", "n"] == 1 and board.loc["broken", "missing"] == 29
    assert not bool(board.loc["broken", "significant"])
    assert np.isnan(board.loc["broken", "p_adjusted"]) and np.isnan(board.loc["broken", "diff"])
    text = leaderboard_markdown(board.reset_index(), metric="score", baseline="base")
    assert "| broken |" in text.replace("  ", " ")


def test_a_single_candidate_gets_its_mean_and_interval_without_comparisons() -> None:
    frame = scores({"only": 0.6}, n=80)
    none = pd.DataFrame(columns=COMPARISON_COLUMNS)
    board = build_leaderboard(frame, none, metric="score", baseline="only")
    assert board["candidate"].tolist() == ["only"]
    row = board.iloc[0]
    assert row["tier"] == 1 and row["rank"] == 1 and row["n"] == 80
    assert row["ci_low"] < row["mean"] < row["ci_high"]
    assert row["diff"] == 0.0 and pd.isna(row["p_adjusted"])
    png = plot_forest(board, metric="score", baseline="only", title="one")
    assert png[:4] == b"\x89PNG"
