"""The same experiment on three set-ups gives identical numbers: embedded defaults; S3 (moto
server) + MLflow server + Postgres instance; and mixed. Real servers, real local model."""

from __future__ import annotations

import os
from pathlib import Path

import boto3
import dagster as dg
import pandas as pd
import polars as pl
import pytest

from llmlab_pipelines.lab import load_lab
from llmlab_pipelines.runner import run_lab

pytest.importorskip("llama_cpp", reason="the 'local' extra is not installed")
pytestmark = [pytest.mark.slow, pytest.mark.integration]

LIMIT = 10
NUMBERS = [
    "candidate",
    "n",
    "mean",
    "ci_low",
    "ci_high",
    "diff",
    "diff_low",
    "diff_high",
    "p_adjusted",
    "tier",
]


@pytest.fixture(autouse=True)
def _shared_models(models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMLAB_MODELS", str(models_dir))


def board(sample_lab: Path, instance: dg.DagsterInstance | None = None) -> pd.DataFrame:
    summary = run_lab(
        load_lab(sample_lab),
        experiments=["arithmetic"],
        limit=LIMIT,
        instance=instance,
        echo=lambda _: None,
    )
    return summary.leaderboards["arithmetic"][NUMBERS].reset_index(drop=True)


def test_three_setups_same_numbers(
    sample_lab: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    s3_bucket: str,
    mlflow_server: str,
    postgres_home: Path,
    postgres_url: str,
) -> None:
    # The sample's regression gate (non-inferiority, margin 0.05) cannot be shown on 10 items
    # (Tango's score bound is honest about n): this test compares set-ups, not prompts.
    experiment = sample_lab / "experiments" / "arithmetic.yaml"
    text = experiment.read_text(encoding="utf-8")
    experiment.write_text(text[: text.index("gate:")], encoding="utf-8")
    # 1. embedded defaults: SQLite instance, local folder, local MLflow store
    with dg.instance_for_test() as sqlite_instance:
        embedded = board(sample_lab, sqlite_instance)

    # 2. production: S3 artifacts + MLflow server + Postgres instance
    monkeypatch.setenv("LLMLAB_ARTIFACTS", f"s3://{s3_bucket}/team")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    with dg.DagsterInstance.from_config(str(postgres_home)) as pg_instance:
        production = board(sample_lab, pg_instance)
        production_again = board(sample_lab, pg_instance)  # cached: same numbers, no duplicates
        materialized = pg_instance.get_latest_materialization_event(dg.AssetKey("leaderboard"))
        assert materialized is not None
    pd.testing.assert_frame_equal(embedded, production)
    pd.testing.assert_frame_equal(production, production_again)

    import psycopg2

    with psycopg2.connect(postgres_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM runs")
        assert cur.fetchone()[0] == 2 * 5  # 5 Dagster runs per `llmlab run` of one experiment
        cur.execute(
            "SELECT count(*) FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION'"
        )
        assert cur.fetchone()[0] >= 2 * 6

    objects = [
        o["Key"]
        for o in boto3.client("s3").list_objects_v2(Bucket=s3_bucket, Prefix="team/")["Contents"]
    ]
    for expected in (
        "team/eval_datasets/arithmetic.parquet",
        "team/comparisons/arithmetic.parquet",
        "team/leaderboard/arithmetic.parquet",
        "team/reports/arithmetic/report.md",
        "team/reports/arithmetic/forest.png",
    ):
        assert expected in objects
    generations = [o for o in objects if o.startswith("team/generations/")]
    assert len(generations) == 2 and any(o.startswith("team/cache/") for o in objects)
    assert not any(o.endswith(".tmp") for o in objects)
    frame = pl.read_parquet(
        f"s3://{s3_bucket}/{generations[0]}",
        storage_options={
            "aws_endpoint_url": os.environ["AWS_ENDPOINT_URL"],
            "aws_region": "us-east-1",
        },
    )
    assert frame.height == LIMIT and frame["error"].null_count() == LIMIT

    from mlflow.tracking import MlflowClient

    client = MlflowClient(mlflow_server)
    experiment = client.get_experiment_by_name("arithmetic")
    runs = client.search_runs([experiment.experiment_id])
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert len(children) == 2 and len(parents) == 2  # runs updated in place; one parent per run
    child = children[0]
    assert {"dagster.run_id", "llmlab.partition", "llmlab.prompt_hash", "llmlab.git_sha"} <= set(
        child.data.tags
    )
    assert child.data.tags["mlflow.parentRunId"] in {p.info.run_id for p in parents}
    assert {"numeric_match_ci_low", "numeric_match_ci_high", "mde"} <= set(child.data.metrics)
    names = {a.path for a in client.list_artifacts(child.info.run_id)}
    assert {"report.md", "forest.png", "leaderboard.png", "generations.parquet"} <= names
    import mlflow

    mlflow.set_tracking_uri(mlflow_server)
    prompt = mlflow.genai.load_prompt("prompts:/few_shot@latest")
    assert "{{ expression }}" in prompt.template

    # 3. mixed: S3 artifacts, the embedded MLflow store, a SQLite instance
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    monkeypatch.setenv("LLMLAB_ARTIFACTS", f"s3://{s3_bucket}/mixed")
    with dg.instance_for_test() as mixed_instance:
        mixed = board(sample_lab, mixed_instance)
    pd.testing.assert_frame_equal(embedded, mixed)


def test_example_launcher_config_validates() -> None:
    import yaml
    from dagster._config import validate_config
    from dagster._core.instance.config import (
        dagster_instance_config_schema,
        validate_concurrency_config,
    )
    from dagster_aws.ecs import EcsRunLauncher

    root = Path(__file__).resolve().parents[2]
    for path in (
        root / "dagster.yaml",
        root / "deploy" / "dagster.postgres.yaml",
        root / "deploy" / "dagster.ecs.yaml",
    ):
        config = yaml.safe_load(path.read_text())
        result = validate_config(dagster_instance_config_schema(), config)
        assert result.success, (path.name, [e.message for e in result.errors])
        validate_concurrency_config(config)  # what DagsterInstance.from_config checks too
    ecs = yaml.safe_load((root / "deploy" / "dagster.ecs.yaml").read_text())
    result = validate_config(EcsRunLauncher.config_type(), ecs["run_launcher"]["config"])
    assert result.success, [e.message for e in result.errors]
