"""MLflow shows the items: each candidate run logs its per-item evaluation table (redacted,
clipped, bounded, replaced on re-runs), its plots as PNG artifacts, and links back to Dagster;
the leaderboard links to MLflow and ``llmlab view``."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from llmlab_pipelines import secrets
from llmlab_pipelines.assets import _report
from llmlab_pipelines.assets._report import TABLE_CHARS, items_table, report_links
from llmlab_pipelines.resources import CandidateRun, MLflowTracking

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def scores(secret: str, n: int = 3) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item_id": [f"i{k}" for k in range(n)],
            "repeat": [0] * n,
            "prompt": ["Q: 1+1?\nA:" + "x" * 3000] + ["Q"] * (n - 1),
            "output": [f"2, and {secret}"] + ["2"] * (n - 1),
            "expected": ["2"] * n,
            "exact_match": [0.0] + [1.0] * (n - 1),
            "correct": [1.0] * n,
            "correct_reason": ["the sum is right"] * n,
            "latency_s": [0.1] * n,
            "cost_usd": [0.0] * n,
            "error": [None] * n,
            "cache_key": ["k"] * n,
        }
    )


@pytest.fixture
def secret(monkeypatch: pytest.MonkeyPatch) -> str:
    value = f"pc{uuid.uuid4().hex}"
    monkeypatch.setenv("PROVIDER_CREDS", value)
    secrets.watch_env("PROVIDER_CREDS")
    return value


def logged_table(client: MlflowClient, run_id: str, tmp: Path) -> tuple[str, pd.DataFrame]:
    path = client.download_artifacts(run_id, "items.json", str(tmp))
    text = Path(path).read_text()
    payload = json.loads(text)
    return text, pd.DataFrame(payload["data"], columns=payload["columns"])


def test_items_table_is_logged_redacted_and_replaced_on_rerun(
    tmp_path: Path, secret: str
) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    tracking = MLflowTracking(tracking_uri=uri)
    table = items_table(scores(secret), ["exact_match", "correct"])
    run = CandidateRun(
        experiment="e",
        partition="c|d",
        name="c on d",
        params={},
        metrics={"exact_match_mean": 2 / 3},
        tags={"dagster.run_id": "abc", "dagster.url": "http://127.0.0.1:3000/runs/abc"},
        files={"leaderboard.png": PNG, "forest.png": PNG},
        table=table,
    )
    run_id = tracking.log(run)
    assert run_id and tracking.log(run) == run_id  # a re-run updates the same run
    client = MlflowClient(tracking_uri=uri)
    text, logged = logged_table(client, run_id, tmp_path / "dl")
    assert list(logged.columns) == [
        "item_id", "repeat", "input", "output", "expected", "exact_match", "correct",
        "correct_reason", "latency_s", "cost_usd", "error",
    ]  # fmt: skip
    assert len(logged) == 3  # replaced, not appended to, on the re-run
    assert secret not in text and logged["output"][0] == "2, and ***"
    assert len(logged["input"][0]) == TABLE_CHARS + 1 and logged["input"][0].endswith("…")
    assert logged["correct_reason"][0] == "the sum is right"
    tags = client.get_run(run_id).data.tags
    assert {"path": "items.json", "type": "table"} in json.loads(tags["mlflow.loggedArtifacts"])
    assert tags["dagster.url"].endswith("/runs/abc")
    names = {f.path for f in client.list_artifacts(run_id)}
    assert {"leaderboard.png", "forest.png", "items.json"} <= names
    png = client.download_artifacts(run_id, "leaderboard.png", str(tmp_path / "png"))
    assert Path(png).read_bytes() == PNG  # an image MLflow's artifact view renders


def test_items_table_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_report, "TABLE_ROWS", 2)
    table = items_table(scores("none-of-these", n=5).drop(columns=["correct_reason"]), [])
    assert len(table) == 2 and "correct_reason" not in table and "exact_match" not in table


def test_leaderboard_links_to_mlflow_and_the_viewer(tmp_path: Path) -> None:
    tracking = MLflowTracking(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    links = report_links(tracking, "my exp", "d/1")
    assert links["my exp_view"].value == "http://127.0.0.1:8080/x/my%20exp/d%2F1"
    assert "my exp_mlflow" not in links  # no runs yet
    tracking.log(CandidateRun("my exp", "c|d/1", "c", {}, {}, {}))
    experiment = MlflowClient(tracking.tracking_uri).get_experiment_by_name("my exp")
    url = report_links(tracking, "my exp", "d/1")["my exp_mlflow"].value
    assert url == f"http://127.0.0.1:5000/#/experiments/{experiment.experiment_id}"
    assert report_links(MLflowTracking(enabled=False), "e", "d").keys() == {"e_view"}
