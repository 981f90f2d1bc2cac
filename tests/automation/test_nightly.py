"""The nightly schedule: fresh samples into a history of the nights that ran, and a drift check
that fires."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest
from automation_helpers import write_gated_lab

from llmlab_pipelines.definitions import defs
from llmlab_pipelines.lab import load_lab
from llmlab_pipelines.partitions import night_partitions, register_night
from llmlab_pipelines.schedules import REFRESH
from llmlab_pipelines.testing import Simulator

pytestmark = pytest.mark.integration


def test_the_schedule_requests_last_night_with_the_cache_bypassed() -> None:
    schedule = defs.resolve_schedule_def("nightly_schedule")
    assert schedule.cron_schedule == "0 2 * * *" and schedule.execution_timezone == "UTC"
    with dg.instance_for_test() as instance:
        assert instance.get_dynamic_partitions(str(night_partitions.name)) == []
        context = dg.build_schedule_context(
            instance=instance,
            scheduled_execution_time=datetime(2026, 11, 24, 2, 0, tzinfo=UTC),
            repository_def=defs.get_repository_def(),
        )
        [request] = schedule.evaluate_tick(context).run_requests or []
        # the night it asks for is now a partition, and the only one: none counts as missing
        assert instance.get_dynamic_partitions(str(night_partitions.name)) == ["2026-11-23"]
    assert request.partition_key == "2026-11-23"
    assert request.run_config == {"resources": {"llm": {"config": {"cache": "refresh"}}}}
    assert request.tags["llmlab/cache"] == "refresh"


def test_nights_build_a_history_and_a_sudden_drop_is_flagged(
    tmp_path: Path, simulator: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_gated_lab(tmp_path / "lab", simulator, ["better"], n=40)
    monkeypatch.setenv("LLMLAB_LAB", str(root))
    job = defs.resolve_job_def("nightly_job")
    refresh = REFRESH  # what the schedule's request carries (checked above)

    def night(instance: dg.DagsterInstance, day: str) -> dg.ExecuteInProcessResult:
        register_night(instance, day)  # what the schedule does when it requests the night
        return job.execute_in_process(
            partition_key=day, run_config=refresh, instance=instance, raise_on_error=True
        )

    lab = load_lab(root)
    prompts = {  # 2 candidates x 40 items; identical prompts share one call
        lab.prompts[c.prompt].render(r)
        for c in lab.candidates("arith")
        for r in lab.datasets["arithmetic"].records
    }
    with dg.instance_for_test() as instance:
        calls = simulator.total_requests
        first = night(instance, "2026-11-20")
        assert simulator.total_requests - calls == len(prompts)
        [check] = first.get_asset_check_evaluations()
        assert check.passed and "no earlier nights" in (check.description or "")

        calls = simulator.total_requests
        second = night(instance, "2026-11-21")
        assert simulator.total_requests - calls == len(prompts)  # cache bypassed: fresh samples
        [check] = second.get_asset_check_evaluations()
        assert check.passed and check.description == "no drift"

        # the provider quietly gets worse on the baseline prompt
        simulator.config = dataclasses.replace(
            simulator.config,
            responder=lambda prompt: "0" if "Careful" not in prompt else "2",
        )
        third = night(instance, "2026-11-22")
        [check] = third.get_asset_check_evaluations()
        assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
        assert "baseline@sim" in (check.description or "")
        history = third.output_for_node("nightly_scores")
        assert set(history["night"]) == {"2026-11-22"}
        materialization = instance.get_latest_materialization_event(
            dg.AssetKey("nightly_scores")
        ).asset_materialization  # type: ignore[union-attr]
        table = materialization.metadata["history"].value  # type: ignore[union-attr]
        assert "2026-11-20" in table and "2026-11-21" in table and "2026-11-22" in table
        assert "mean/arith/baseline@sim" in materialization.metadata

        # a night ten days later compares with the nights that ran in the 7 before it: none
        later = night(instance, "2026-12-02")
        [check] = later.get_asset_check_evaluations()
        assert "no earlier nights" in (check.description or "")

        # only the nights that ran are partitions, every one materialized: nothing missing
        nights = instance.get_dynamic_partitions(str(night_partitions.name))
        assert nights == ["2026-11-20", "2026-11-21", "2026-11-22", "2026-12-02"]
        assert instance.get_materialized_partitions(dg.AssetKey("nightly_scores")) == set(nights)
