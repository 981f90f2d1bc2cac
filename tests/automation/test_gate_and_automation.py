"""The regression gate (check and `llmlab gate`) and declarative automation, on the simulator."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
from automation_helpers import Repo, write_gated_lab
from mlflow.tracking import MlflowClient

from llmlab_pipelines.assets import ALL_ASSETS
from llmlab_pipelines.cli import main
from llmlab_pipelines.definitions import build_resources, defs
from llmlab_pipelines.lab import load_lab
from llmlab_pipelines.partitions import generation_key
from llmlab_pipelines.resources import LabResource
from llmlab_pipelines.runner import RunFailed, run_lab
from llmlab_pipelines.sensors import analysis_sensor
from llmlab_pipelines.settings import get_settings
from llmlab_pipelines.testing import Simulator

pytestmark = pytest.mark.integration


def promoted_runs(instance: dg.DagsterInstance) -> list[str]:
    records = instance.fetch_materializations(dg.AssetKey("promoted"), limit=100).records
    return [r.run_id for r in records]


def test_a_worse_prompt_fails_the_gate_and_a_better_one_passes(
    tmp_path: Path, simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write_gated_lab(tmp_path / "lab", simulator, ["better"])
    repo = Repo(root)
    repo.git("init", "-q")
    sha = repo.commit("baseline and a better prompt")
    with dg.instance_for_test() as instance:
        good = run_lab(load_lab(root), instance=instance, echo=lambda _: None)
        runs = MlflowClient(get_settings().mlflow_uri).search_runs(
            [MlflowClient(get_settings().mlflow_uri).get_experiment_by_name("arith").experiment_id]
        )
        runs = [r for r in runs if "llmlab.kind" not in r.data.tags]  # parents and candidates
        assert runs and all(r.data.tags["llmlab.git_sha"] == sha for r in runs)
        assert {r.data.tags["llmlab.git_message"] for r in runs} == {"baseline and a better prompt"}
        [gate] = good.check("regression_gate")
        assert gate.passed and "better@sim passes" in (gate.description or "")
        assert len(promoted_runs(instance)) == 1

        write_gated_lab(root, simulator, ["better", "worse"])
        with pytest.raises(RunFailed) as info:
            run_lab(load_lab(root), instance=instance, echo=lambda _: None)
        [gate] = info.value.summary.check("regression_gate")  # type: ignore[union-attr]
        assert not gate.passed
        assert "worse@sim FAILS" in (gate.description or "")
        assert "better@sim passes" in (gate.description or "")
        assert len(promoted_runs(instance)) == 1  # the blocking check kept `promoted` as it was

    assert main(["gate", "--lab", str(root), "--experiment", "arith"]) == 1
    out = capsys.readouterr().out
    assert "worse@sim" in out and "| candidate" in out and "FAILED" in out

    write_gated_lab(root, simulator, ["better"])
    calls = simulator.total_requests
    assert main(["gate", "--lab", str(root), "--experiment", "arith"]) == 0
    assert "regression gate passed" in capsys.readouterr().out
    assert simulator.total_requests == calls  # every answer came from the response cache


def test_the_analysis_follows_new_generations_by_sensor_and_automation(
    tmp_path: Path, simulator: Simulator
) -> None:
    root = write_gated_lab(tmp_path / "lab", simulator, ["better"])
    lab = load_lab(root)
    analysis = dg.AssetSelection.assets("comparisons", "leaderboard", "promoted")
    resources = {**build_resources(), "lab": LabResource(path=str(root))}
    with dg.instance_for_test() as instance:
        run_lab(lab, instance=instance, echo=lambda _: None)
        first = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, asset_selection=analysis
        )
        assert first.total_requested == 0  # everything is up to date
        context = dg.build_sensor_context(instance=instance)
        assert isinstance(analysis_sensor(context), dg.SkipReason)  # starts following scores

        better = next(c for c in lab.candidates("arith") if c.prompt == "better")
        dg.materialize(
            ALL_ASSETS,
            selection=["generations", "judge_scores", "scores"],
            partition_key=generation_key(better.key, "arithmetic"),
            instance=instance,
            resources=resources,
        )
        result = analysis_sensor(dg.build_sensor_context(instance=instance, cursor=context.cursor))
        assert isinstance(result, dg.SensorResult)
        [request] = result.run_requests or []
        assert request.partition_key == "arithmetic"
        promoted = len(promoted_runs(instance))
        dg.materialize(  # what the daemon launches for the request
            ALL_ASSETS,
            selection=request.asset_selection,
            partition_key=request.partition_key,
            instance=instance,
            resources=resources,
            tags=request.tags,
        )
        assert len(promoted_runs(instance)) == promoted + 1
        second = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, asset_selection=analysis, cursor=first.cursor
        )
        assert second.total_requested == 0  # the leaderboard and promoted ran in that run

        # a comparisons run started by hand is still followed by automation
        dg.materialize(
            ALL_ASSETS,
            selection=["comparisons"],
            partition_key="arithmetic",
            instance=instance,
            resources=resources,
        )
        third = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, asset_selection=analysis, cursor=second.cursor
        )
        requested = {
            key.to_user_string(): third.get_requested_partitions(key)
            for key in (dg.AssetKey("leaderboard"), dg.AssetKey("promoted"))
        }
        assert requested == {"leaderboard": {"arithmetic"}, "promoted": {"arithmetic"}}
