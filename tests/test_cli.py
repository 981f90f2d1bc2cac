"""The llmlab command: init, validate."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmlab_pipelines.cli import main
from llmlab_pipelines.lab import load_lab


def test_init_scaffolds_a_lab_that_validates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "mylab"
    assert main(["init", str(target)]) == 0
    lab = load_lab(target)
    assert lab.baseline("arithmetic").label == "zero_shot@local"
    assert main(["validate", "--lab", str(target)]) == 0
    assert (
        "ok — 1 models, 2 prompts, 1 datasets, 1 experiments, 2 candidates"
        in capsys.readouterr().out
    )


def test_init_refuses_a_non_empty_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    assert main(["init", str(tmp_path)]) == 1
    assert "not empty" in capsys.readouterr().err
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_validate_lists_every_problem_and_fails(
    sample_lab: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    models = sample_lab / "models.yaml"
    models.write_text(models.read_text().replace("temperature: 0", "temperature: 7"))
    with (sample_lab / "datasets" / "capitals.jsonl").open("a") as fh:
        fh.write("{not json\n")
    experiment = sample_lab / "experiments" / "arithmetic.yaml"
    experiment.write_text(experiment.read_text().replace("models: [local]", "models: [lokal]"))
    assert main(["validate", "--lab", str(sample_lab)]) == 1
    err = capsys.readouterr().err
    assert "lab/models.yaml:" in err and "local.temperature" in err
    assert "lab/datasets/capitals.jsonl:100: invalid JSON" in err
    assert "lab/experiments/arithmetic.yaml:4: models[0]: unknown model 'lokal'" in err


def test_validate_uses_llmlab_lab(
    sample_lab: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LLMLAB_LAB", str(sample_lab))
    assert main(["validate"]) == 0
    assert str(sample_lab) in capsys.readouterr().out


def test_every_command_and_option_has_help() -> None:
    import argparse

    from llmlab_pipelines.cli import build_parser

    parser = build_parser()
    subparsers = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    (commands,) = subparsers
    helped = {c.dest: c.help for c in commands._choices_actions}
    assert set(helped) == set(commands.choices)
    assert all(helped.values()), helped
    for name, command in [("llmlab", parser), *commands.choices.items()]:
        for action in command._actions:
            if action is commands:
                continue
            where = f"{name} {action.option_strings or action.dest}"
            assert action.help and action.help.strip(), where
