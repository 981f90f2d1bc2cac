"""The whole sample lab through Dagster with the real local model, on a reduced dataset."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from llmlab_pipelines.lab import load_lab
from llmlab_pipelines.runner import RunFailed, dagster_instance, run_lab
from llmlab_pipelines.settings import get_settings

pytest.importorskip("llama_cpp", reason="the 'local' extra (llama-cpp-python) is not installed")
pytestmark = pytest.mark.slow

LIMIT = 16


@pytest.fixture
def shared_models(models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMLAB_MODELS", str(models_dir))


def mlflow_runs(experiment: str) -> list[object]:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=get_settings().mlflow_uri)
    found = client.get_experiment_by_name(experiment)
    assert found is not None, f"no MLflow experiment {experiment!r}"
    return list(client.search_runs([found.experiment_id]))


def test_sample_lab_end_to_end(sample_lab: Path, shared_models: None) -> None:
    lab = load_lab(sample_lab)
    lines: list[str] = []
    summary = run_lab(lab, limit=LIMIT, echo=lines.append)

    assert set(summary.leaderboards) == {"arithmetic", "capitals", "word_problems"}
    board = summary.leaderboards["arithmetic"].set_index("candidate")
    assert set(board.index) == {"zero_shot@local", "few_shot@local"}
    assert (board["n"] == LIMIT).all()
    assert ((board["ci_low"] <= board["mean"]) & (board["mean"] <= board["ci_high"])).all()
    # a base model does far better few-shot: the demo's claim, measured on the real model
    assert board.loc["few_shot@local", "mean"] > board.loc["zero_shot@local", "mean"]
    assert board.loc["few_shot@local", "diff"] == pytest.approx(
        board.loc["few_shot@local", "mean"] - board.loc["zero_shot@local", "mean"]
    )
    assert board.loc["zero_shot@local", "tokens"] > 0

    report = Path(summary.reports["arithmetic"])
    assert report.is_file() and "few_shot@local" in report.read_text()
    assert (report.parent / "leaderboard.png").read_bytes()[:4] == b"\x89PNG"

    # the sequential A/B on the capitals candidates: decided in rounds, set beside the grid
    ab = summary.adaptive["capitals_ab"]
    assert ab["grid_calls"] == 2 * LIMIT and 0 < int(ab["calls"]) <= 2 * LIMIT  # type: ignore[call-overload]
    assert ab["same_as_grid"] in ("True", "False")  # the grid's scores were there to compare
    assert "full grid's decision" in Path(summary.reports["capitals_ab"]).read_text()

    artifacts = Path(get_settings().artifacts)
    generations = sorted((artifacts / "generations").rglob("*.parquet"))
    assert len(generations) == 5  # 2 arithmetic, 2 capitals, 1 word_problems
    for path in generations:  # word_problems has 8 items, fewer than LIMIT
        frame = pd.read_parquet(path)
        want = 8 if path.stem == "word_problems" else LIMIT
        assert len(frame) == want and frame["error"].isna().all(), path

    everything = mlflow_runs("arithmetic")
    runs = [r for r in everything if "mlflow.parentRunId" in r.data.tags]  # type: ignore[attr-defined]
    assert len(runs) == 2 and len(everything) == 3  # two candidates under one parent run
    for run in runs:
        data = run.data  # type: ignore[attr-defined]
        assert {"model", "prompt", "prompt_hash", "dataset"} <= set(data.params)
        assert data.tags["dagster.run_id"] in summary.dagster_runs
        assert {"numeric_match_mean", "numeric_match_ci_low", "numeric_match_ci_high"} <= set(
            data.metrics
        )

    instance = dagster_instance()
    event = instance.get_latest_materialization_event(dg.AssetKey("generations"))
    assert event is not None and event.asset_materialization is not None
    metadata = event.asset_materialization.metadata
    # the latest is word_problems (8 items) or a LIMIT-item dataset, by run order
    assert metadata["dagster/row_count"].value in (LIMIT, 8) and "cost_usd" in metadata

    # a second run updates the same candidate runs (under a new parent) instead of adding more
    run_lab(lab, experiments=["arithmetic"], limit=LIMIT, echo=lines.append)
    again = mlflow_runs("arithmetic")
    assert len([r for r in again if "mlflow.parentRunId" in r.data.tags]) == 2  # type: ignore[attr-defined]
    assert len(again) == 4

    # the sample lab's judge: the local model decides whether each capital answer is right
    scored = [pd.read_parquet(p) for p in (artifacts / "scores").rglob("capitals.parquet")]
    assert len(scored) == 2 and all(f["states_answer"].between(0, 1).all() for f in scored)
    judged = sorted((artifacts / "judge_scores").rglob("capitals.parquet"))
    assert len(judged) == 2
    verdicts = pd.read_parquet(judged[0])
    assert len(verdicts) == LIMIT and set(verdicts["raw"].dropna()) <= {0.0, 1.0}
    # its few-shot prompt asks for a reason after the label: the reason is stored, not the label
    said = verdicts[verdicts["failure"].isna()]
    assert len(said) and (said["reason"].str.len() > 0).all()
    assert not said["reason"].str.lower().isin(["yes", "no"]).any()
    report = Path(summary.reports["capitals"]).read_text()
    assert "**Agreement with people** (lab/labels/capitals.jsonl)" in report


def test_a_template_error_fails_with_the_item_and_keeps_finished_work(
    sample_lab: Path, shared_models: None
) -> None:
    lab = load_lab(sample_lab)
    run_lab(lab, experiments=["capitals"], limit=4, echo=lambda _: None)
    artifacts = Path(get_settings().artifacts)
    before = {p: p.read_bytes() for p in (artifacts / "generations").rglob("*.parquet")}
    assert len(before) == 2

    dataset = sample_lab / "datasets" / "capitals.jsonl"
    rows = dataset.read_text().splitlines()
    rows[0] = rows[0].replace('"question"', '"q"')  # the first item loses its template field
    dataset.write_text("\n".join(rows) + "\n")
    with pytest.raises(RunFailed) as info:
        run_lab(
            load_lab(sample_lab, check_datasets=False),
            experiments=["capitals"],
            limit=4,
            echo=lambda _: None,
        )
    message = str(info.value)
    assert "lab/datasets/capitals.jsonl:1: item 'cap-000': 'question' is missing" in message
    assert {p: p.read_bytes() for p in (artifacts / "generations").rglob("*.parquet")} == before
