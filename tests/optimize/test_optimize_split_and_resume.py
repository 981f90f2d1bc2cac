"""The held-out split is by content, a checkpoint resumes only the same optimization, and a
judge's rubric reaches the optimizer as text."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from optimize_helpers import (
    BEST,
    RUBRIC,
    judged_responder,
    make_lab,
    repeated_sums,
    scripted_optimizer,
)

from llmlab_pipelines.lab import load_lab
from llmlab_pipelines.optimize import optimize_experiment
from llmlab_pipelines.optimize._split import content_split, input_key
from llmlab_pipelines.resources import LLMResource
from llmlab_pipelines.testing import Simulator, SimulatorConfig

pytestmark = pytest.mark.integration
OPT = "  variants: 4\n  rounds: 3\n  keep: 2\n  round_size: 10\n"


def test_content_split_puts_every_copy_of_a_question_on_one_side_once() -> None:
    records = [json.loads(line) for line in repeated_sums(300, 100).splitlines()]
    split = content_split(records, train_fraction=0.5, seed=3)
    train = [input_key(r) for r in split.train]
    held = [input_key(r) for r in split.holdout]
    assert not set(train) & set(held)
    assert len(set(train)) == len(train) and len(set(held)) == len(held)  # one item per input
    assert (split.records, split.distinct, split.duplicates) == (300, 100, 200)
    assert len(train) == 50
    # the id is not an input: records differing only by id are the same item
    twins = [{"id": "a", "q": "x", "expected": "1"}, {"id": "b", "q": "x", "expected": "1"}]
    assert content_split(twins, train_fraction=0.5, seed=0).distinct == 1
    # without duplicates the split is the plain shuffled one it always was
    plain = [{"id": str(k), "q": str(k)} for k in range(10)]
    order = np.random.default_rng(0).permutation(10)
    assert content_split(plain, train_fraction=0.5, seed=0).train == [plain[i] for i in order[:5]]


def test_a_repeated_question_is_never_confirmed_on_items_the_loop_selected_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIM_API_KEY", "sk-sim-not-secret")
    with Simulator(SimulatorConfig(responder=scripted_optimizer)) as sim:
        root = make_lab(tmp_path / "lab", sim, OPT, dataset=repeated_sums(300, 100))
        lab = load_lab(root)
        records = lab.datasets["arithmetic"].records
        run = optimize_experiment(lab, "tune", records, LLMResource().engine())
    assert run.confirmed, run.verdict
    question = {r["id"]: r["question"] for r in records}
    ev = run.evaluations
    held_round = ev["round"].max()
    trained = {question[i] for i in ev.loc[ev["round"] < held_round, "item_id"]}
    held = [question[i] for i in ev.loc[ev["round"] == held_round, "item_id"]]
    assert held and not trained & set(held)
    # the held-out test counts each distinct question once
    assert len(held) == len(set(held)) * 2  # the seed and the one finalist
    assert run.split is not None and run.split.duplicates == 200
    assert f"confirmed on {len(set(held))} held-out items" in run.verdict
    assert "200 duplicates grouped" in run.markdown()


@pytest.fixture
def checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A lab, a simulator and the checkpoint of its first round."""
    monkeypatch.setenv("SIM_API_KEY", "sk-sim-not-secret")
    with Simulator(SimulatorConfig(responder=scripted_optimizer)) as sim:
        root = make_lab(tmp_path / "lab", sim, OPT, distinct=True)
        lab = load_lab(root)
        state: dict[str, Any] = {}
        optimize_experiment(
            lab,
            "tune",
            lab.datasets["arithmetic"].records,
            LLMResource().engine(),
            save_state=state.update,
            rounds_now=1,
        )
        assert state["round"] == 1
        yield sim, root, state


def _resume(root: Path, state: dict[str, Any]) -> tuple[Any, list[str]]:
    """Resume from ``state`` without running a round; the reasons a resume was refused."""
    lab = load_lab(root)
    reasons: list[str] = []
    run = optimize_experiment(
        lab,
        "tune",
        lab.datasets["arithmetic"].records,
        LLMResource().engine(),
        load_state=lambda: json.loads(json.dumps(state)),
        on_restart=reasons.append,
        rounds_now=0,
    )
    return run, reasons


def test_the_same_optimization_resumes(checkpoint: Any) -> None:
    _, root, state = checkpoint
    run, reasons = _resume(root, state)
    assert run.resumed_from == 1 and not reasons and run.restarted is None
    # a rate limit is not part of the result: the checkpoint still holds
    models = root / "models.yaml"
    models.write_text(models.read_text().replace("concurrency: 16", "concurrency: 4"))
    run, reasons = _resume(root, state)
    assert run.resumed_from == 1 and not reasons


def test_a_reordered_dataset_is_a_new_optimization(checkpoint: Any) -> None:
    _, root, state = checkpoint
    data = root / "datasets" / "arithmetic.jsonl"
    data.write_text("\n".join(reversed(data.read_text().splitlines())) + "\n")
    run, reasons = _resume(root, state)
    assert run.resumed_from == 0
    assert reasons == [run.restarted] and "dataset content" in str(run.restarted)
    assert "started afresh" in run.markdown()


def test_another_lab_with_the_same_experiment_does_not_resume_the_checkpoint(
    checkpoint: Any, tmp_path: Path
) -> None:
    sim, _, state = checkpoint
    other = make_lab(tmp_path / "other_lab", sim, OPT, distinct=True)  # same files, elsewhere
    run, reasons = _resume(other, state)
    assert run.resumed_from == 0 and reasons == ["lab folder changed since the checkpoint"]


def test_a_changed_model_entry_is_a_new_optimization(checkpoint: Any) -> None:
    _, root, state = checkpoint
    models = root / "models.yaml"
    models.write_text(models.read_text().replace("max_tokens: 8", "max_tokens: 9"))
    run, reasons = _resume(root, state)
    assert run.resumed_from == 0 and "model entry" in reasons[0]
    assert "optimizer entry" in reasons[0]  # the optimizer is the same model here


def test_a_checkpoint_whose_split_differs_is_not_resumed(checkpoint: Any) -> None:
    _, root, state = checkpoint
    assert state["split"]["holdout"] and state["split"]["train"]
    moved = {**state, "split": {**state["split"], "holdout": state["split"]["holdout"][1:]}}
    run, reasons = _resume(root, moved)
    assert run.resumed_from == 0 and "split differs" in reasons[0]


def test_a_judge_metric_shows_the_optimizer_the_rubric_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIM_API_KEY", "sk-sim-not-secret")
    asked: list[str] = []

    def responder(prompt: str) -> str:
        if "write improved template number" in prompt:
            asked.append(prompt)
        return judged_responder(prompt)

    with Simulator(SimulatorConfig(responder=responder)) as sim:
        root = make_lab(tmp_path / "lab", sim, OPT, items=60, distinct=True, judged=True)
        lab = load_lab(root)
        run = optimize_experiment(
            lab,
            "tune",
            lab.datasets["arithmetic"].records,
            LLMResource().engine(),
            judge_engine_for=lambda judge: LLMResource().engine(),
        )
    assert asked and all(f"Scoring rubric:\n{RUBRIC}\n" in p for p in asked)
    assert not any("bound method" in p for p in asked)
    assert run.confirmed and lab.prompts[run.winner].source == BEST, run.verdict
