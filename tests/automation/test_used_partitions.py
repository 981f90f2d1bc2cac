"""Only what an experiment uses is a partition (issue #20): after ``llmlab run`` every
generations partition is a candidate x dataset pair some experiment evaluates and every one is
materialized, so the Dagster UI counts none as missing; the analysis of a dataset reads and
follows only that dataset's partitions."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
from automation_helpers import ROOT, write_gated_lab

from llmlab_pipelines.assets import ALL_ASSETS
from llmlab_pipelines.definitions import build_resources, defs
from llmlab_pipelines.lab import Lab, load_lab
from llmlab_pipelines.partitions import generation_key, generation_partitions
from llmlab_pipelines.resources import LabResource
from llmlab_pipelines.runner import run_lab
from llmlab_pipelines.sensors import analysis_sensor
from llmlab_pipelines.testing import Simulator

pytestmark = pytest.mark.integration

GENERATED = ("generations", "judge_scores", "scores")
ANALYSIS = dg.AssetSelection.assets("comparisons", "leaderboard", "promoted", "judge_agreement")


def write_two_dataset_lab(root: Path, sim: Simulator) -> Path:
    """``arith``: baseline and worse on arithmetic; ``sums``: better and baseline on other
    items. Three candidates x two datasets is six pairs; the experiments use four."""
    write_gated_lab(root, sim, ["better", "worse"], n=30)
    (root / "experiments" / "arith.yaml").write_text(
        "dataset: arithmetic\nprompts: [baseline, worse]\nmodels: [sim]\n"
        "metrics: [numeric_match]\nbaseline: baseline@sim\n"
    )
    lines = (ROOT / "lab" / "datasets" / "arithmetic.jsonl").read_text().splitlines()[30:50]
    (root / "datasets" / "sums.jsonl").write_text("\n".join(lines) + "\n")
    (root / "experiments" / "sums.yaml").write_text(
        "dataset: sums\nprompts: [better, baseline]\nmodels: [sim]\n"
        "metrics: [numeric_match]\nbaseline: baseline@sim\n"
    )
    return root


def used_pairs(lab: Lab) -> set[str]:
    return {
        generation_key(c.key, lab.experiment(n).dataset)
        for n in lab.experiments
        for c in lab.candidates(n)
    }


def tick(instance: dg.DagsterInstance, cursor: str | None) -> tuple[object, str | None]:
    context = dg.build_sensor_context(instance=instance, cursor=cursor)
    result = analysis_sensor(context)
    return result, (result.cursor if isinstance(result, dg.SensorResult) else context.cursor)


def test_only_used_pairs_are_partitions_and_each_dataset_is_analysed_alone(
    tmp_path: Path, simulator: Simulator
) -> None:
    root = write_two_dataset_lab(tmp_path / "lab", simulator)
    lab = load_lab(root)
    pairs = used_pairs(lab)
    assert len(pairs) == 4 and len(lab.all_candidates()) * 2 == 6
    with dg.instance_for_test() as instance:
        summary = run_lab(lab, instance=instance, echo=lambda _: None)

        keys = generation_partitions.get_partition_keys(dynamic_partitions_store=instance)
        assert set(keys) == pairs and len(keys) == 4
        for asset in GENERATED:  # materialized == total: the UI shows 100 %, nothing missing
            assert instance.get_materialized_partitions(dg.AssetKey(asset)) == pairs, asset

        # each leaderboard ranks its own experiment's candidates, read from its own dataset
        assert set(summary.leaderboards) == {"arith", "sums"}
        assert set(summary.leaderboards["arith"]["candidate"]) == {"baseline@sim", "worse@sim"}
        assert set(summary.leaderboards["sums"]["candidate"]) == {"better@sim", "baseline@sim"}
        board = summary.leaderboards["sums"].set_index("candidate")
        assert board.loc["better@sim", "mean"] == 1.0  # 'Careful' answers every sum right
        assert board.loc["baseline@sim", "n"] == 20  # the 20 sums items, not arithmetic's 30

        # a new score of one pair analyses its dataset only (the sensor), nothing else
        first, cursor = tick(instance, None)
        assert isinstance(first, dg.SkipReason)
        before = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, asset_selection=ANALYSIS
        )
        assert before.total_requested == 0
        better = next(c for c in lab.candidates("sums") if c.prompt == "better")
        dg.materialize(
            ALL_ASSETS,
            selection=list(GENERATED),
            partition_key=generation_key(better.key, "sums"),
            instance=instance,
            resources={**build_resources(), "lab": LabResource(path=str(root))},
        )
        result, cursor = tick(instance, cursor)
        assert isinstance(result, dg.SensorResult)
        [request] = result.run_requests or []
        assert request.partition_key == "sums"
        assert set(request.asset_selection or []) == set(
            ANALYSIS.resolve(defs.resolve_asset_graph())
        )
        automation = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, asset_selection=ANALYSIS, cursor=before.cursor
        )
        assert automation.total_requested == 0  # nor every dataset's analysis by automation
        again, _ = tick(instance, cursor)
        assert isinstance(again, dg.SkipReason) and "no scores updated" in str(again.skip_message)
