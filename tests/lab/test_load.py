"""Loading and validating a lab: every problem, each with its file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmlab_pipelines.lab import LabError, load_lab

MODELS = "local:\n  model: llmlab/gemma3-270m\n  mode: completion\n  max_tokens: 8\n"
DATA = (
    '{"id": "a", "question": "1+1?", "expected": "2"}\n'
    '{"id": "b", "question": "2+2?", "expected": "4"}\n'
)
EXPERIMENT = "dataset: d\nprompts: [p]\nmodels: [local]\nmetrics: [exact_match]\n"


def good_lab(write_lab, **overrides: str) -> Path:  # type: ignore[no-untyped-def]
    files = {
        "models.yaml": MODELS,
        "prompts/p.jinja": "Q: {{ question }}\nA:",
        "datasets/d.jsonl": DATA,
        "experiments/e.yaml": EXPERIMENT,
    }
    files.update(overrides)
    return write_lab(files)  # type: ignore[no-any-return]


def problems(root: Path) -> list[str]:
    with pytest.raises(LabError) as info:
        load_lab(root)
    return [str(issue) for issue in info.value.issues]


def test_sample_lab_loads() -> None:
    lab = load_lab(Path(__file__).resolve().parents[2] / "lab")
    assert {"arithmetic", "capitals"} <= set(lab.experiments)
    assert len(lab.datasets["arithmetic"].records) >= 200
    assert lab.baseline("arithmetic").label == "zero_shot@local"


def test_good_lab_loads(write_lab) -> None:  # type: ignore[no-untyped-def]
    lab = load_lab(good_lab(write_lab))
    assert [c.label for c in lab.candidates("e")] == ["p@local"]


def test_every_problem_is_listed_with_file_and_line(write_lab) -> None:  # type: ignore[no-untyped-def]
    root = good_lab(
        write_lab,
        **{
            "models.yaml": MODELS + "  temperature: 7\nother:\n  model: x/y\n  max_tokens: 0\n",
            "datasets/d.jsonl": DATA + '{"id": "c", "question": \n{"id": "a", "question": "q"}\n',
            "experiments/e.yaml": EXPERIMENT.replace("[local]", "[local, gtp-4o]")
            + "baseline: p@nothere\n",
        },
    )
    found = "\n".join(problems(root))
    assert "lab/models.yaml:5: local.temperature: Input should be less than or equal to 2" in found
    assert "lab/models.yaml:8: other.max_tokens" in found
    assert "lab/datasets/d.jsonl:3: invalid JSON" in found
    assert "lab/datasets/d.jsonl:4: duplicate id 'a' (first on line 1)" in found
    assert "lab/experiments/e.yaml:3: models[1]: unknown model 'gtp-4o'" in found


def test_typo_gets_a_suggestion(write_lab) -> None:  # type: ignore[no-untyped-def]
    root = good_lab(write_lab, **{"experiments/e.yaml": EXPERIMENT.replace("[p]", "[pp]")})
    (message,) = problems(root)
    assert "prompts[0]: unknown prompt 'pp'" in message and "p" in message


def test_missing_template_variable_names_template_and_variable(write_lab) -> None:  # type: ignore[no-untyped-def]
    root = good_lab(write_lab, **{"prompts/p.jinja": "Q: {{ question }} {{ context }}\nA:"})
    (message,) = problems(root)
    assert message.startswith("lab/prompts/p.jinja")
    assert "'context'" in message and "dataset 'd'" in message


def test_api_key_in_lab_is_rejected_without_echoing_it(write_lab) -> None:  # type: ignore[no-untyped-def]
    key = "sk-live-abcdefghijklmnop1234567890"
    root = good_lab(write_lab, **{"models.yaml": MODELS + f"  api_key_env: {key}\n"})
    found = "\n".join(problems(root))
    assert "api_key_env" in found
    assert key not in found and "abcdefghijklmnop" not in found


def test_unknown_key_lists_allowed_ones(write_lab) -> None:  # type: ignore[no-untyped-def]
    root = good_lab(write_lab, **{"models.yaml": MODELS + "  temprature: 0.5\n"})
    message, consequence = problems(root)
    assert "local.temprature: unknown key" in message and "temperature" in message
    assert "models[0]: model 'local' is declared but invalid" in consequence


def test_params_grid_expands_candidates(write_lab) -> None:  # type: ignore[no-untyped-def]
    root = good_lab(
        write_lab,
        **{
            "experiments/e.yaml": EXPERIMENT + "params_grid:\n  temperature: [0, 0.7]\n"
            "baseline: p@local[temperature=0]\n"
        },
    )
    lab = load_lab(root)
    labels = [c.label for c in lab.candidates("e")]
    assert len(labels) == 2 and len({c.key for c in lab.candidates("e")}) == 2
    assert lab.baseline("e").params.temperature == 0


def test_bad_grid_value_is_reported(write_lab) -> None:  # type: ignore[no-untyped-def]
    root = good_lab(
        write_lab, **{"experiments/e.yaml": EXPERIMENT + "params_grid:\n  temperature: [0, 7]\n"}
    )
    (message,) = problems(root)
    assert "lab/experiments/e.yaml" in message and "params_grid" in message


def test_editing_a_prompt_makes_a_new_candidate(write_lab) -> None:  # type: ignore[no-untyped-def]
    root = good_lab(write_lab)
    before = load_lab(root).candidates("e")[0].key
    (root / "prompts" / "p.jinja").write_text("Question: {{ question }}\nAnswer:")
    after = load_lab(root).candidates("e")[0].key
    assert before != after and before.split(".")[0] == after.split(".")[0] == "p"


def test_missing_lab_folder(tmp_path: Path) -> None:
    with pytest.raises(LabError, match="lab folder not found"):
        load_lab(tmp_path / "nothing")
