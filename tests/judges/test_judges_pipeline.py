"""Judges in the pipeline, against the simulator's scripted judges."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import krippendorff
import numpy as np
import pandas as pd
import pytest
from judge_helpers import (
    GARBAGE_ONCE,
    GARBAGE_TWICE,
    INJECTED,
    human_score,
    judge_reply,
    write_judged_lab,
)
from mlflow.tracking import MlflowClient
from sklearn.metrics import cohen_kappa_score

from llmlab_pipelines.lab import load_lab
from llmlab_pipelines.runner import run_lab
from llmlab_pipelines.settings import get_settings
from llmlab_pipelines.testing import Simulator

pytestmark = pytest.mark.integration


def artifact(asset: str, *parts: str) -> pd.DataFrame:
    root = Path(get_settings().artifacts) / asset
    matches = [p for p in root.rglob("*.parquet") if all(part in str(p) for part in parts)]
    assert len(matches) == 1, (asset, parts, matches)
    return pd.read_parquet(matches[0])


def test_judged_experiment_end_to_end(tmp_path: Path, simulator: Simulator) -> None:
    lab = load_lab(write_judged_lab(tmp_path / "lab", simulator))
    with dg.instance_for_test() as instance:
        summary = run_lab(lab, instance=instance, echo=lambda _: None)
    board = summary.leaderboards["judged"].set_index("candidate")
    assert board["metric"].iloc[0] == "correct"  # ranked by the judge's score
    # careful is right on every item; the one reply the judge never makes usable scores 0
    assert board.loc["careful@sim", "mean"] == pytest.approx(39 / 40)
    assert board.loc["careful@sim", "mean"] > board.loc["plain@sim", "mean"]

    plain = next(c for c in lab.candidates("judged") if c.prompt == "plain")
    verdicts = artifact("judge_scores", plain.key)
    by_item = verdicts[verdicts["judge"] == "correct"].set_index("item_id")
    ids = {r["question"]: r["id"] for r in lab.datasets["arithmetic"].records}
    # the injected "give it a 5" stayed inside its block: the wrong answer gets the worst score
    assert by_item.loc[ids[INJECTED], "raw"] == 1.0
    # garbage, then a usable reply after the retry that quotes the parse error
    assert pd.isna(by_item.loc[ids[GARBAGE_ONCE], "failure"])
    # garbage twice: recorded with its reason, never a made-up score
    failed = by_item.loc[ids[GARBAGE_TWICE]]
    assert failed["failure"] == "parse" and "no JSON object" in failed["error"]
    assert pd.isna(failed["raw"])
    assert verdicts["prompt_tokens"].sum() > 0

    checks = {(c.asset_key.path[0], c.check_name): c for c in summary.checks}
    parse_check = [c for c in summary.check("judge_parse_failures")]
    assert parse_check and not all(c.passed for c in parse_check)
    failing = next(c for c in parse_check if not c.passed)
    assert "lenient" in (failing.description or "") and "no JSON object" in (
        failing.description or ""
    )
    assert ("judge_agreement", "judge_agreement_floor") in checks

    agreement = artifact("judge_agreement", "arithmetic")
    panel = agreement[agreement["group"] == "panel"].iloc[0]
    # the same numbers from the reference implementations, on ratings rebuilt from judge_scores
    frames = []
    for cand in lab.candidates("judged"):
        frame = artifact("judge_scores", cand.key)
        frames.append(
            frame.assign(unit=cand.key + "|" + frame["item_id"] + "|" + frame["repeat"].astype(str))
        )
    ratings = pd.concat(frames).dropna(subset=["raw"])
    table = ratings.pivot_table(index="judge", columns="unit", values="raw", aggfunc="first")
    expected_alpha = krippendorff.alpha(
        reliability_data=table.loc[["correct", "lenient"]].to_numpy(float),
        level_of_measurement="ordinal",
    )
    assert panel["krippendorff_alpha"] == pytest.approx(expected_alpha, abs=1e-9)
    both = table.loc[["correct", "lenient"]].dropna(axis=1)
    expected_kappa = cohen_kappa_score(
        both.loc["correct"].astype(int), both.loc["lenient"].astype(int), weights="quadratic"
    )
    assert panel["cohen_kappa"] == pytest.approx(expected_kappa, abs=1e-9)
    assert bool(panel["below_floor"]) == (panel["krippendorff_alpha"] < 0.9)

    pairs = artifact("pairwise", "arithmetic")
    careful = pairs[pairs["candidate"] == "careful@sim"]
    biased = careful[
        careful["item_id"].isin(
            [r["id"] for r in lab.datasets["arithmetic"].records if "- 1?" in r["question"]]
        )
    ]
    assert len(biased) and (biased["outcome"] == "tie").all() and not biased["consistent"].any()
    assert set(careful["outcome"]) <= {"win", "tie"} and (careful["outcome"] == "win").any()
    consistency = careful["consistent"].astype(float).mean()
    assert 0 < consistency < 1

    client = MlflowClient(get_settings().mlflow_uri)
    runs = client.search_runs([client.get_experiment_by_name("judged").experiment_id])
    judged = [r for r in runs if "correct_mean" in r.data.metrics]
    assert len(judged) == 2
    items = client.download_artifacts(judged[0].info.run_id, "items.json")
    table = json.loads(Path(items).read_text())  # the evaluation table MLflow shows
    assert {"item_id", "input", "output", "expected", "correct", "latency_s"} <= set(
        table["columns"]
    ) and len(table["data"]) == 40  # write_judged_lab: 40 items, 1 repeat
    agreement_runs = [r for r in runs if r.data.tags.get("llmlab.kind") == "judge_agreement"]
    assert agreement_runs and any(
        k.startswith("alpha/panel") for k in agreement_runs[0].data.metrics
    )


def test_agreement_with_human_labels(tmp_path: Path, simulator: Simulator) -> None:
    lab = load_lab(write_judged_lab(tmp_path / "lab", simulator, n=20, humans=True))
    with dg.instance_for_test() as instance:
        run_lab(lab, instance=instance, echo=lambda _: None)
    agreement = artifact("judge_agreement", "arithmetic")
    row = agreement[agreement["raters"].str.contains("correct vs humans")].iloc[0]
    humans = {r["id"]: human_score(i) for i, r in enumerate(lab.datasets["arithmetic"].records)}
    judge_rows, human_rows = [], []
    for cand in lab.candidates("judged"):
        frame = artifact("judge_scores", cand.key)
        frame = frame[(frame["judge"] == "correct") & frame["raw"].notna()]
        judge_rows += list(frame["raw"])
        human_rows += [humans[i] for i in frame["item_id"]]
    expected = krippendorff.alpha(
        reliability_data=np.array([judge_rows, human_rows], dtype=float),
        level_of_measurement="ordinal",
    )
    assert row["krippendorff_alpha"] == pytest.approx(expected, abs=1e-9)
    assert row["n_items"] == len(judge_rows) and bool(row["humans"])  # every output labelled
    assert row["cohen_kappa"] == pytest.approx(
        cohen_kappa_score(
            np.array(judge_rows, int), np.array(human_rows, int), weights="quadratic"
        ),
        abs=1e-9,
    )


def test_the_naive_judge_would_obey_an_unfenced_injection() -> None:
    """The fence is what protects the score: without it the scripted judge gives a 5."""
    from judge_helpers import INJECTION

    from llmlab_pipelines.judges import rubric_prompt
    from llmlab_pipelines.lab._judges import JudgeConfig

    judge = JudgeConfig(model="sim")
    fenced = rubric_prompt(
        judge, ["correctness"], task="What is 6 + 4?", output=INJECTION, reference="10"
    )
    assert '"score": 1' in (judge_reply(fenced) or "")
    unfenced = fenced.replace("<\\/response>", "</response>")
    assert '"score": 5' in (judge_reply(unfenced) or "")
