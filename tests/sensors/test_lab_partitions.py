"""The sensor that registers dataset and candidate x dataset partitions."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from llmlab_pipelines.lab import load_lab
from llmlab_pipelines.partitions import dataset_partitions, generation_partitions
from llmlab_pipelines.resources import LabResource
from llmlab_pipelines.sensors import lab_partitions_sensor


def tick(instance: dg.DagsterInstance, lab: Path) -> object:
    context = dg.build_sensor_context(
        instance=instance, resources={"lab": LabResource(path=str(lab))}
    )
    return lab_partitions_sensor(context)


def test_registers_new_partitions_then_skips(sample_lab: Path) -> None:
    with dg.instance_for_test() as instance:
        result = tick(instance, sample_lab)
        assert isinstance(result, dg.SensorResult)
        added = {
            r.partitions_def_name: set(r.partition_keys) for r in result.dynamic_partitions_requests
        }
        assert added["datasets"] == {"arithmetic", "capitals", "word_problems"}
        # adaptive_runs / prompt_optimization: only the datasets of experiments in that mode
        assert added["adaptive_datasets"] == {"capitals"}
        assert added["optimize_datasets"] == {"arithmetic"}
        assert "pairwise_datasets" not in added  # no experiment of the sample names one
        lab = load_lab(sample_lab)
        used = {f"{p.candidate.key}|{p.dataset}" for p in lab.plans()}
        assert added["generations"] == used  # the pairs grid experiments use, not 4 x 3
        assert len(used) == 5 and len(lab.all_candidates()) * len(added["datasets"]) == 12
        for request in result.dynamic_partitions_requests:
            instance.add_dynamic_partitions(
                request.partitions_def_name, list(request.partition_keys)
            )
        assert isinstance(tick(instance, sample_lab), dg.SkipReason)

        prompt = sample_lab / "prompts" / "few_shot.jinja"
        prompt.write_text(prompt.read_text() + "\n")
        result = tick(instance, sample_lab)
        (request,) = result.dynamic_partitions_requests
        assert request.partitions_def_name == generation_partitions.name
        assert len(request.partition_keys) == 1
        assert request.partition_keys[0].startswith("few_shot.")
        assert request.partition_keys[0].endswith("|arithmetic")
        assert len(instance.get_dynamic_partitions(dataset_partitions.name)) == 3


def test_broken_lab_skips_with_the_problems(sample_lab: Path) -> None:
    (sample_lab / "models.yaml").write_text(
        "local:\n  model: llmlab/gemma3-270m\n  temperature: 9\n"
    )
    with dg.instance_for_test() as instance:
        result = tick(instance, sample_lab)
    assert isinstance(result, dg.SkipReason)
    assert "local.temperature" in (result.skip_message or "")


def test_the_cli_registers_with_the_sensors_function(sample_lab: Path) -> None:
    from llmlab_pipelines.partitions import partition_requests, register_partitions

    lab = load_lab(sample_lab)
    with dg.instance_for_test() as instance:
        result = tick(instance, sample_lab)
        assert isinstance(result, dg.SensorResult)
        wanted = {
            r.partitions_def_name: set(r.partition_keys) for r in result.dynamic_partitions_requests
        }
        register_partitions(instance, lab)
        assert set(instance.get_dynamic_partitions(dataset_partitions.name)) == wanted["datasets"]
        assert (
            set(instance.get_dynamic_partitions(generation_partitions.name))
            == wanted["generations"]
        )
        assert isinstance(tick(instance, sample_lab), dg.SkipReason)
        assert partition_requests(instance, lab) == []
        register_partitions(instance, lab, generations=["extra.1|d"])  # known keys stay, once
        register_partitions(instance, lab, generations=["extra.1|d"])
        assert instance.get_dynamic_partitions(generation_partitions.name).count("extra.1|d") == 1
