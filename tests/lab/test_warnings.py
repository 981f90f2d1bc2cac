"""Warnings about a valid lab: printed by `llmlab validate`, never failing it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmlab_pipelines.cli import main
from llmlab_pipelines.lab import lab_warnings, load_lab

MODELS = "local:\n  model: llmlab/gemma3-270m\n  mode: completion\n  max_tokens: 8\n"
GSM8K = [
    {"question": "Tom has 12 marbles and wins 7. How many?", "answer": "12 + 7 = 19\n#### 19"},
    {"question": "Mia reads 15 pages for 4 days. How many?", "answer": "15 * 4 = 60\n#### 60"},
]


def lab_with(write_lab, rows: list[dict[str, object]], sidecar: str | None, metrics: str) -> Path:  # type: ignore[no-untyped-def]
    files = {
        "models.yaml": MODELS,
        "prompts/p.jinja": "Q: {{ question }}\nA:",
        "datasets/d.jsonl": "".join(json.dumps(r) + "\n" for r in rows),
        "experiments/e.yaml": f"dataset: d\nprompts: [p]\nmodels: [local]\nmetrics: {metrics}\n",
    }
    if sidecar is not None:
        files["datasets/d.yaml"] = sidecar
    return write_lab(files)  # type: ignore[no-any-return]


def warnings_of(root: Path) -> list[str]:
    return [str(w) for w in lab_warnings(load_lab(root))]


def test_a_reference_metric_on_a_dataset_without_expected(write_lab) -> None:  # type: ignore[no-untyped-def]
    root = lab_with(write_lab, GSM8K, "id: line\n", "[exact_match, length]")
    assert warnings_of(root) == [
        "lab/experiments/e.yaml: metrics[0]: 'exact_match' compares with `expected`, which no "
        "record of dataset 'd' has: every item would score 0 (map one in lab/datasets/d.yaml, "
        "e.g. `expected: answer`)"
    ]


def test_some_records_without_expected_are_counted(write_lab) -> None:  # type: ignore[no-untyped-def]
    rows = [{"id": "a", "question": "x", "expected": "1"}, {"id": "b", "question": "y"}]
    (found,) = warnings_of(lab_with(write_lab, rows, None, "[exact_match]"))
    assert "1 of 2 records of dataset 'd' have no `expected` (e.g. 'b')" in found


def test_prose_expected_for_a_numeric_metric(write_lab) -> None:  # type: ignore[no-untyped-def]
    root = lab_with(write_lab, GSM8K, "id: line\nexpected: answer\n", "[numeric_match]")
    (found,) = warnings_of(root)
    assert found.startswith(
        "lab/experiments/e.yaml: metrics[0]: 'numeric_match' compares numbers, but `expected` "
        "is prose in 2 of 2 records of dataset 'd' (e.g. line 1: '12 + 7 = 19\\n#### 19')"
    )
    assert "extract the answer in lab/datasets/d.yaml" in found


@pytest.mark.parametrize(
    "expected", ["\"{{ answer.split('####')[-1] | trim }}\"", "'{{ answer[-2:] }} marbles'"]
)
def test_an_extracted_number_is_no_prose(write_lab, expected: str) -> None:  # type: ignore[no-untyped-def]
    root = lab_with(write_lab, GSM8K, f"id: line\nexpected: {expected}\n", "[numeric_match]")
    assert warnings_of(root) == []


def test_duplicate_inputs_and_orphan_sidecars(write_lab) -> None:  # type: ignore[no-untyped-def]
    questions = ["same?", "same?", "same?", "q3", "q4"]
    rows = [{"id": str(i), "question": q, "expected": "1"} for i, q in enumerate(questions)]
    root = lab_with(write_lab, rows, None, "[exact_match]")
    (root / "datasets" / "gone.yaml").write_text("id: line\n")
    found = warnings_of(root)
    assert found[0].startswith(
        "lab/datasets/d.jsonl: duplicate inputs: 2 items repeat an earlier item's inputs"
    )
    assert "'same?': 0, 1, 2" in found[0]
    assert found[1].startswith("lab/datasets/gone.yaml: a sidecar without a data file")


def test_validate_prints_the_warnings_and_succeeds(
    write_lab, capsys: pytest.CaptureFixture[str]  # type: ignore[no-untyped-def]
) -> None:
    root = lab_with(write_lab, GSM8K, "id: line\n", "[exact_match]")
    assert main(["validate", "--lab", str(root)]) == 0
    out = capsys.readouterr().out
    assert ": ok — " in out
    assert "warning: lab/experiments/e.yaml: metrics[0]: 'exact_match' compares with" in out
