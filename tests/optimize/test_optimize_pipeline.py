"""`llmlab optimize` through Dagster against the simulator: lineage, checkpoints, write-back."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest
from optimize_helpers import BEST, make_lab, scripted_optimizer

from llmlab_pipelines.cli import main
from llmlab_pipelines.lab import load_lab
from llmlab_pipelines.partitions import lab_partition_keys
from llmlab_pipelines.runner import run_lab
from llmlab_pipelines.sensors import next_round_request
from llmlab_pipelines.settings import get_settings
from llmlab_pipelines.testing import Simulator, SimulatorConfig

pytestmark = pytest.mark.integration


def test_optimize_runs_as_a_dagster_asset_and_writes_the_confirmed_winner(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIM_API_KEY", "sk-sim-not-secret")
    with (
        Simulator(SimulatorConfig(responder=scripted_optimizer)) as sim,
        dg.instance_for_test() as instance,
    ):
        root = make_lab(tmp_path / "lab", sim, "  variants: 4\n  rounds: 2\n  round_size: 20\n")
        summary = run_lab(load_lab(root), instance=instance, echo=lambda _: None)
        info = summary.optimizations["tune"]
        assert info["confirmed"] is True and "confirmed" in str(info["verdict"])
        winner = str(info["winner"])
        written = Path(str(info["written"]))
        assert written == root / "prompts" / f"{winner}.jinja"
        assert written.read_text() == BEST + "\n"
        assert load_lab(root).prompts[winner].source.strip() == BEST  # a lab prompt now

        # variants are not generations partitions (no experiment generates them: none shows as
        # missing); every round is an observation with rationales
        keys = instance.get_dynamic_partitions("generations")
        assert set(keys) == set(lab_partition_keys(load_lab(root))[1])
        assert not any(k.startswith(f"{winner}.") for k in keys)
        observations = instance.fetch_observations(dg.AssetKey("prompt_optimization"), limit=10)
        rounds = [o.asset_observation.metadata for o in observations.records]  # type: ignore[union-attr]
        assert len(rounds) == 2
        assert any("Drop the distracting sum" in str(r["proposals"].value) for r in rounds)

        # one materialization per round; the sensor's request chains them
        mats = instance.fetch_materializations(
            dg.AssetKey("prompt_optimization"), limit=10, ascending=True
        ).records
        assert len(mats) == 2
        first, last = (m.asset_materialization for m in mats)
        assert first is not None and last is not None
        assert first.metadata["tune/finished"].value is False
        request = next_round_request(first, mats[0].run_id)
        assert request is not None and request.partition_key == "arithmetic"
        assert request.run_config["ops"]["prompt_optimization"]["config"]["experiments"] == ["tune"]
        assert next_round_request(last, mats[1].run_id) is None  # finished: nothing to chain

        artifacts = Path(get_settings().artifacts)
        state = json.loads((artifacts / "optimize" / "tune" / "checkpoint.json").read_text())
        assert state["round"] == 2 and state["done"] is True
        report = Path(summary.reports["tune"]).read_text()
        assert "improvement confirmed" in report and "Held-out split" in report

        # a second run resumes from the finished checkpoint: no new calls at all
        asked = sim.total_requests
        assert main(["optimize", "--lab", str(root), "--experiment", "tune"]) == 0
        assert sim.total_requests == asked


def test_a_bad_optimizer_name_is_an_error_with_file_and_line(tmp_path: Path) -> None:
    with Simulator(SimulatorConfig(responder=scripted_optimizer)) as sim:
        root = make_lab(tmp_path / "lab", sim, "  optimizer: gpt-9\n  rounds: 1\n")
        with pytest.raises(Exception) as info:
            load_lab(root)
        text = str(info.value)
        assert "experiments/tune.yaml:7" in text and "gpt-9" in text
