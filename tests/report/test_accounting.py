"""Failed generations are missing, not 0; metric values the statistics can't use are refused."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from llmlab_pipelines.assets._report import ExperimentReport
from llmlab_pipelines.metrics import Metric, MetricError, score_frame
from llmlab_pipelines.report import build_leaderboard, leaderboard_markdown
from llmlab_pipelines.stats import compare


def generations(outputs: list[str | None]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item_id": [f"i{i}" for i in range(len(outputs))],
            "repeat": 0,
            "output": outputs,
            "error": [None if o is not None else "timeout" for o in outputs],
            "latency_s": 0.1,
        }
    )


def records(n: int) -> list[dict[str, object]]:
    return [{"id": f"i{i}", "expected": "yes"} for i in range(n)]


def test_failed_generations_are_missing_on_both_sides_not_zero() -> None:
    from llmlab_pipelines.assets.scores import unscore_failed

    base = score_frame(generations(["yes"] * 6), records(6), ["exact_match"])
    cand = score_frame(
        generations(["yes", None, "yes", None, "no", "yes"]), records(6), ["exact_match"]
    )
    cand = unscore_failed(cand, ["exact_match"])
    assert cand["exact_match"].isna().sum() == 2
    assert cand["latency_s"].notna().all()  # the call's own accounting stays
    extras = {"prompt_tokens": 1, "completion_tokens": 1, "cost_usd": 0.0}
    frame = pd.concat(
        [base.assign(candidate="base", **extras), cand.assign(candidate="new", **extras)],
        ignore_index=True,
    )
    pairs = compare(frame, metric="exact_match", baseline="base", family="all_pairs", n_boot=50)
    assert pairs["n"].iloc[0] == 4  # the 2 failed items are left out of the pair, both sides
    assert pairs["diff"].iloc[0] == pytest.approx(-1 / 4)
    board = build_leaderboard(frame, pairs, metric="exact_match", baseline="base")
    row = board.set_index("candidate").loc["new"]
    assert row["missing"] == 2 and row["n"] == 4 and row["mean"] == pytest.approx(3 / 4)
    assert "| missing |" in leaderboard_markdown(board, metric="exact_match", baseline="base")


@pytest.mark.parametrize(
    ("value", "binary", "message"),
    [
        (math.inf, False, "must be finite"),
        (math.nan, False, "must be finite"),
        (1.5, True, r"in \[0, 1\]"),
        (-0.5, True, r"in \[0, 1\]"),
    ],
)
def test_unusable_metric_values_are_refused_with_the_metric_and_item(
    value: float, binary: bool, message: str
) -> None:
    registry = {"odd": Metric("odd", lambda o, e, r: value, binary=binary)}
    with pytest.raises(MetricError, match=rf"metric 'odd' returned .* on item 'i0'.*{message}"):
        score_frame(generations(["yes"]), records(1), ["odd"], registry)


def test_graded_values_outside_unit_interval_are_fine_when_not_binary() -> None:
    registry = {"len": Metric("len", lambda o, e, r: 42.0, binary=False)}
    assert score_frame(generations(["yes"]), records(1), ["len"], registry)["len"].iloc[0] == 42


def test_the_asset_schema_is_the_stats_schema() -> None:
    from llmlab_pipelines.assets.comparisons import COLUMNS as ASSET_COLUMNS
    from llmlab_pipelines.stats import COMPARISON_COLUMNS

    assert ["experiment", "metric", *COMPARISON_COLUMNS] == ASSET_COLUMNS


def test_report_names_one_family_for_verdicts_and_tiers() -> None:
    rng = np.random.default_rng(0)
    rows = []
    for name, rate in {"base": 0.3, "x": 0.6, "y": 0.35}.items():
        for i, hit in enumerate(rng.random(150) < rate):
            rows.append(
                {
                    "candidate": name,
                    "candidate_key": name,
                    "item_id": f"i{i}",
                    "score": float(hit),
                    "error": None,
                    "prompt_tokens": 1,
                    "completion_tokens": 1,
                    "cost_usd": 0.0,
                    "latency_s": 0.1,
                }
            )
    frame = pd.DataFrame(rows)
    pairs = compare(frame, baseline="base", family="all_pairs", n_boot=200)
    board = build_leaderboard(frame, pairs, metric="score", baseline="base")

    class Config:
        metric, metrics, alpha, description = "score", ["score"], 0.05, ""

    report = ExperimentReport(
        "exp",
        "ds",
        Config(),
        "base",
        board,
        frame,
        pairs.assign(experiment="exp", metric="score"),  # type: ignore[arg-type]
    )
    text = report.markdown()
    assert "Holm over all 3 pair(s)" in report.verdict()
    assert "98.33% CI" in text  # 1 - 0.05/3, the level the verdict's family uses
