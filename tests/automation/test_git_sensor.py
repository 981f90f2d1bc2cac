"""The git sensor on a real repository and a real Dagster instance."""

from __future__ import annotations

import dagster as dg
import pytest
from automation_helpers import Repo

from llmlab_pipelines.assets import eval_datasets
from llmlab_pipelines.definitions import build_resources
from llmlab_pipelines.lab import load_lab
from llmlab_pipelines.partitions import dataset_partitions, generation_partitions
from llmlab_pipelines.resources import LabResource
from llmlab_pipelines.resources.git import LabRepository
from llmlab_pipelines.runner import register_partitions
from llmlab_pipelines.sensors import lab_git_sensor


class Watcher:
    """Evaluates the sensor tick by tick, carrying its cursor like the daemon does."""

    def __init__(self, repo: Repo, instance: dg.DagsterInstance) -> None:
        self.repo, self.instance, self.cursor = repo, instance, None

    def tick(self) -> dg.SensorResult | dg.SkipReason:
        context = dg.build_sensor_context(
            instance=self.instance,
            cursor=self.cursor,
            resources={"lab_repo": LabRepository(path=str(self.repo.path / "lab"))},
        )
        result = lab_git_sensor(context)
        if isinstance(result, dg.SensorResult) and result.cursor is not None:
            self.cursor = result.cursor
        else:
            self.cursor = context.cursor
        if isinstance(result, dg.SensorResult):
            for request in result.dynamic_partitions_requests or []:
                self.instance.add_dynamic_partitions(
                    request.partitions_def_name, list(request.partition_keys or [])
                )
        return result  # type: ignore[no-any-return]


def keys_of(result: dg.SensorResult) -> set[str]:
    return {str(r.partition_key) for r in result.run_requests or []}


@pytest.fixture
def watcher(lab_repo: Repo) -> Watcher:
    with dg.instance_for_test() as instance:
        register_partitions(instance, load_lab(lab_repo.path / "lab"))
        yield Watcher(lab_repo, instance)


def test_a_prompt_commit_runs_exactly_that_prompts_partitions(
    watcher: Watcher, lab_repo: Repo
) -> None:
    first = watcher.tick()
    assert isinstance(first, dg.SkipReason) and "now watching lab" in first.skip_message
    quiet = watcher.tick()
    assert isinstance(quiet, dg.SkipReason) and "no new commit" in quiet.skip_message

    lab_repo.append("lab/prompts/few_shot.jinja", "\n")
    sha = lab_repo.commit("few_shot: end with a newline")
    result = watcher.tick()
    assert isinstance(result, dg.SensorResult)
    new_key = next(
        c.key
        for c in load_lab(lab_repo.path / "lab").candidates("arithmetic")
        if c.prompt == "few_shot"
    )
    assert keys_of(result) == {f"{new_key}|arithmetic"}  # not zero_shot, not capitals
    request = result.run_requests[0]
    assert request.job_name == "generations_job"
    assert request.tags["llmlab/git_sha"] == sha
    assert request.tags["llmlab/git_author"] == "Ada Lovelace <ada@example.com>"
    assert request.tags["llmlab/git_message"] == "few_shot: end with a newline"
    assert request.tags["llmlab/provider"] == "llmlab"
    assert f"{new_key}|arithmetic" in watcher.instance.get_dynamic_partitions(
        generation_partitions.name
    )

    again = watcher.tick()  # a second evaluation with no new commit requests nothing
    assert isinstance(again, dg.SkipReason) and "no new commit" in again.skip_message

    lab_repo.write("lab/NOTES.md", "why few_shot works\n")
    lab_repo.write("README.md", "# our prompts, documented\n")
    lab_repo.commit("docs only")
    docs = watcher.tick()
    assert isinstance(docs, dg.SkipReason)
    assert "changes nothing that is generated" in docs.skip_message


def test_a_broken_commit_gives_a_clear_skip_reason_then_recovers(
    watcher: Watcher, lab_repo: Repo
) -> None:
    watcher.tick()
    lab_repo.write("lab/prompts/zero_shot.jinja", "Question: {{ question }} in {{ unit }}\nAnswer:")
    lab_repo.commit("zero_shot: ask for a unit")
    broken = watcher.tick()
    assert isinstance(broken, dg.SkipReason)
    message = broken.skip_message
    assert "breaks the lab" in message and "zero_shot: ask for a unit" in message
    assert "unit" in message and "zero_shot.jinja" in message
    assert isinstance(watcher.tick(), dg.SkipReason)  # not re-checked every tick: no crash loop

    lab_repo.write("lab/prompts/zero_shot.jinja", "Q: {{ question }}\nA:")
    lab_repo.commit("zero_shot: fixed")
    fixed = watcher.tick()
    assert isinstance(fixed, dg.SensorResult)
    keys = keys_of(fixed)
    assert len(keys) == 2 and all(k.startswith("zero_shot.") for k in keys)  # both datasets
    assert {k.split("|")[1] for k in keys} == {"arithmetic", "capitals"}


def test_a_model_setting_change_reruns_that_models_partitions(
    watcher: Watcher, lab_repo: Repo
) -> None:
    watcher.tick()
    lab_repo.write(
        "lab/models.yaml",
        (lab_repo.path / "lab" / "models.yaml")
        .read_text()
        .replace("max_tokens: 10", "max_tokens: 12"),
    )
    lab_repo.commit("local: longer answers")
    result = watcher.tick()
    assert isinstance(result, dg.SensorResult)
    assert len(keys_of(result)) == 5  # every candidate uses the local model


def test_a_dataset_commit_snapshots_the_dataset_before_generating(
    watcher: Watcher, lab_repo: Repo
) -> None:
    watcher.tick()
    lab_repo.append(
        "lab/datasets/capitals.jsonl",
        '{"id": "cap-new", "question": "What is the capital of Peru?", "expected": "Lima"}\n',
    )
    lab_repo.commit("capitals: one more")
    first = watcher.tick()
    assert isinstance(first, dg.SensorResult)
    [snapshot] = first.run_requests
    assert snapshot.job_name == "eval_datasets_job" and snapshot.partition_key == "capitals"
    waiting = watcher.tick()
    assert isinstance(waiting, dg.SkipReason) and "waiting" in waiting.skip_message

    dg.materialize(
        [eval_datasets],
        partition_key="capitals",
        instance=watcher.instance,
        resources={**build_resources(), "lab": LabResource(path=str(lab_repo.path / "lab"))},
        tags={"dagster/run_key": snapshot.run_key, **snapshot.tags},
    )
    then = watcher.tick()
    assert isinstance(then, dg.SensorResult)
    assert {k.split("|")[1] for k in keys_of(then)} == {"capitals"} and len(keys_of(then)) == 2
    assert "capitals" in watcher.instance.get_dynamic_partitions(dataset_partitions.name)
    assert isinstance(watcher.tick(), dg.SkipReason)
