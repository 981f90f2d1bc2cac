"""The code location loads, and Dagster itself validates it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from llmlab_pipelines.definitions import defs

ROOT = Path(__file__).resolve().parent.parent


def test_definitions_resolve() -> None:
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert keys == {
        "eval_datasets",
        "generations",
        "scores",
        "comparisons",
        "leaderboard",
        "promoted",
        "nightly_scores",
        "judge_scores",
        "judge_agreement",
        "pairwise",
        "costs",
        "adaptive_runs",
        "prompt_optimization",
    }
    jobs = {job.name for job in defs.resolve_all_job_defs()}
    assert {"eval_datasets_job", "generations_job", "analysis_job", "nightly_job"} <= jobs
    for sensor in (
        "lab_partitions_sensor",
        "lab_git_sensor",
        "run_failure_summary",
        "analysis_sensor",
    ):
        assert defs.resolve_sensor_def(sensor) is not None
    assert defs.resolve_schedule_def("nightly_schedule").cron_schedule == "0 2 * * *"
    # a dataset's analysis follows its scores (analysis_sensor), then declarative automation
    assert graph.get(dg.AssetKey("comparisons")).automation_condition is None
    for key in ("leaderboard", "promoted"):
        assert graph.get(dg.AssetKey(key)).automation_condition is not None
    upstream = graph.get(dg.AssetKey("generations")).parent_keys
    assert graph.get(dg.AssetKey("scores")).parent_keys >= {dg.AssetKey("judge_scores")}
    assert upstream == {dg.AssetKey("eval_datasets")}


def test_dagster_definitions_validate_on_workspace(tmp_path: Path) -> None:
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Validation successful" in done.stdout + done.stderr


def test_the_nightly_time_zone_is_read_when_definitions_are_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from llmlab_pipelines.definitions import build_definitions

    monkeypatch.setenv("LLMLAB_TIMEZONE", "Asia/Tokyo")
    assert build_definitions().resolve_schedule_def("nightly_schedule").execution_timezone == (
        "Asia/Tokyo"
    )
    monkeypatch.delenv("LLMLAB_TIMEZONE")
    assert build_definitions().resolve_schedule_def("nightly_schedule").execution_timezone == "UTC"


def test_only_used_pairs_and_nights_that_ran_are_partitions() -> None:
    from llmlab_pipelines.partitions import (
        adaptive_partitions,
        dataset_partitions,
        generation_partitions,
        night_partitions,
        optimize_partitions,
        pairwise_partitions,
    )

    graph = defs.resolve_asset_graph()
    for asset, partitions in {
        "generations": generation_partitions,
        "scores": generation_partitions,
        "judge_scores": generation_partitions,
        "comparisons": dataset_partitions,
        "leaderboard": dataset_partitions,
        "nightly_scores": night_partitions,
        "adaptive_runs": adaptive_partitions,  # only datasets an adaptive experiment uses
        "prompt_optimization": optimize_partitions,
        "pairwise": pairwise_partitions,  # only datasets with a pairwise judge
    }.items():
        assert graph.get(dg.AssetKey(asset)).partitions_def == partitions, asset
