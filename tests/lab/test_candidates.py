"""Candidates: one partition key per distinct candidate, and no grid too large to ask about."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmlab_pipelines.lab import LabError, load_lab
from llmlab_pipelines.lab._candidates import Candidate, expand_candidates

MODELS = "local:\n  model: llmlab/gemma3-270m\n  mode: completion\n  max_tokens: 8\n"
DATA = '{"id": "a", "question": "1+1?", "expected": "2"}\n'
EXPERIMENT = "dataset: d\nprompts: [p]\nmodels: [local]\nmetrics: [exact_match]\n"
SAMPLE_LAB = Path(__file__).resolve().parents[2] / "lab"


def lab_with(write_lab, experiment: str) -> Path:  # type: ignore[no-untyped-def]
    return write_lab(  # type: ignore[no-any-return]
        {
            "models.yaml": MODELS,
            "prompts/p.jinja": "Q: {{ question }}\nA:",
            "datasets/d.jsonl": DATA,
            "experiments/e.yaml": EXPERIMENT + experiment,
        }
    )


def problems(root: Path) -> list[str]:
    with pytest.raises(LabError) as info:
        load_lab(root)
    return [str(issue) for issue in info.value.issues]


def test_grid_points_whose_short_hashes_collided_get_their_own_partitions(write_lab) -> None:  # type: ignore[no-untyped-def]
    # (0.47, 0.42) and (0.63, 0.22) had the same 24-bit parameter hash with max_tokens: 8
    root = lab_with(
        write_lab,
        "params_grid:\n  temperature: [0.47, 0.63]\n  top_p: [0.42, 0.22]\n"
        "baseline: p@local[temperature=0.47,top_p=0.42]\n",
    )
    lab = load_lab(root)
    keys = {c.key: c.label for c in lab.candidates("e")}
    assert len(keys) == 4
    baseline = lab.baseline("e")
    assert keys[baseline.key] == "p@local[temperature=0.47,top_p=0.42]"
    assert lab.all_candidates()[baseline.key].params.top_p == 0.42


def test_a_large_grid_has_no_shared_keys() -> None:
    lab = load_lab(SAMPLE_LAB)
    config = lab.experiment("arithmetic").model_copy(
        update={
            "prompts": ["zero_shot"],
            "params_grid": {
                "temperature": [round(t / 100, 2) for t in range(0, 201, 2)],  # 101 values
                "top_p": [round(p / 100, 2) for p in range(1, 101)],  # 100 values
                "seed": [1, 2],
            },
        }
    )
    candidates = expand_candidates(config, lab.prompts, lab.models)
    assert len(candidates) == 20_200
    assert len({c.key for c in candidates}) == 20_200


def test_candidates_without_parameters_keep_their_keys() -> None:
    lab = load_lab(SAMPLE_LAB)
    for cand in lab.candidates("arithmetic"):
        assert not cand.tweaked
        assert cand.key == f"{cand.prompt}.{cand.prompt_hash[:8]}@{cand.model}"


def test_a_shared_key_is_refused_at_load_time(
    write_lab,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = lab_with(write_lab, "params_grid:\n  temperature: [0.1, 0.2]\n")
    monkeypatch.setattr(Candidate, "params_hash", property(lambda self: "0" * 16))
    (message,) = problems(root)
    assert "lab/experiments" in message and "would share the partition key" in message
    assert "p@local[temperature=0.1] (experiment e)" in message
    assert "p@local[temperature=0.2] (experiment e)" in message


def test_a_grid_past_the_limit_asks_first(write_lab) -> None:  # type: ignore[no-untyped-def]
    grid = "params_grid:\n  seed: [{}]\n  max_tokens: [{}]\n".format(
        ", ".join(str(i) for i in range(100)), ", ".join(str(i) for i in range(1, 101))
    )
    root = lab_with(write_lab, grid + "baseline: p@local[seed=0,max_tokens=1]\n")
    (message,) = problems(root)
    assert "lab/experiments/e.yaml:5: params_grid: 10000 candidates" in message
    assert "more than the 64 (the default)" in message
    assert "add `max_candidates: 10000`" in message
    assert len(message) < 500

    (root / "experiments" / "e.yaml").write_text(
        EXPERIMENT + grid + "baseline: p@local[seed=0,max_tokens=1]\nmax_candidates: 10000\n"
    )
    assert len(load_lab(root).candidates("e")) == 10_000


def test_many_prompts_count_too(write_lab) -> None:  # type: ignore[no-untyped-def]
    root = lab_with(write_lab, "max_candidates: 1\nparams_grid:\n  seed: [1, 2]\n")
    (message,) = problems(root)
    assert "2 candidates (1 prompts x 1 models x 2 seed values), more than the 1 " in message


def test_the_unknown_baseline_message_lists_a_few_candidates(write_lab) -> None:  # type: ignore[no-untyped-def]
    grid = "params_grid:\n  seed: [{}]\n  max_tokens: [{}]\n".format(
        ", ".join(str(i) for i in range(100)), ", ".join(str(i) for i in range(1, 101))
    )
    root = lab_with(write_lab, grid + "max_candidates: 10000\nbaseline: p@lokal\n")
    (message,) = problems(root)
    assert "baseline 'p@lokal' is none of the candidates (p@local[seed=0,max_tokens=1], " in message
    assert "… (9,970 more))" in message
    assert len(message) <= 2_100  # one issue message is capped at 2,000 characters + its place
