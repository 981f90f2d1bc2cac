"""Human labels: ``labels/<dataset>.jsonl``, read strictly, every problem with file and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmlab_pipelines.lab import LabError, lab_warnings, load_lab

ROOT = Path(__file__).resolve().parents[2]

BASE = {
    "models.yaml": "m:\n  model: openai/x\n",
    "prompts/p.jinja": "{{ question }}",
    "datasets/d.jsonl": '{"id": "1", "question": "q", "expected": "a"}\n'
    '{"id": "2", "question": "r", "expected": "b"}\n',
    "judges/says.yaml": "model: m\ndimensions: [says]\nrubrics: {says: Does it say so}\n"
    'labels: {"yes": 1, "no": 0}\n',
    "judges/grade.yaml": "model: m\ndimensions: [correctness]\nscale: [1, 5]\n",
    "experiments/e.yaml": "dataset: d\nprompts: [p]\nmodels: [m]\njudges: [says, grade]\n"
    "metrics: [exact_match]\n",
}


def lines(*rows: object) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows)


def test_labels_are_read_by_item_and_output_text(write_lab: object) -> None:
    lab = load_lab(
        write_lab(  # type: ignore[operator]
            {
                **BASE,
                "labels/d.jsonl": lines(
                    {"id": "1", "output": "  a  ", "human_says": "Yes", "note": "right"},
                    {"id": "1", "output": "b", "human_says": 0, "human_grade": 2},
                    "",
                    {"id": 2, "output": "b", "human_grade": 5},
                ),
            }
        )
    )
    labels = lab.human_labels["d"]
    assert labels.display == "lab/labels/d.jsonl"
    assert labels.columns() == ["says", "grade"]
    assert labels.for_column("says") == {("1", "a"): 1.0, ("1", "b"): 0.0}
    assert labels.for_column("grade") == {("1", "b"): 2.0, ("2", "b"): 5.0}


def test_every_bad_line_is_named(write_lab: object) -> None:
    root = write_lab(  # type: ignore[operator]
        {
            **BASE,
            "labels/d.jsonl": lines(
                "{not json",
                {"id": "1", "human_says": "yes"},
                {"id": "9", "output": "a", "human_says": "yes"},
                {"id": "1", "output": "a", "human_says": "maybe"},
                {"id": "1", "output": "a", "human_grade": 7},
                {"id": "1", "output": "a", "human_wit": 1},
                {"id": "1", "output": "a", "verdict": "yes"},
                {"id": "2", "output": "b", "human_says": "no"},
                {"id": "2", "output": " b", "human_says": "yes"},
                ["id", "output"],
            ),
            "labels/nothere.jsonl": lines({"id": "1", "output": "a", "human_says": "yes"}),
            "labels/d.csv": "id,output,human_says\n1,a,yes\n",
        }
    )
    with pytest.raises(LabError) as info:
        load_lab(root)
    text = str(info.value)
    for expected in (
        "lab/labels/d.jsonl:1: invalid JSON",
        "lab/labels/d.jsonl:2: `output` (the output text labelled) is missing",
        "lab/labels/d.jsonl:3: item '9' is not in dataset 'd'",
        "lab/labels/d.jsonl:4: human_says: 'maybe' is not one of the judge's labels (yes/no)",
        "lab/labels/d.jsonl:5: human_grade: '7' is not a score on the judge's scale 1..5",
        "lab/labels/d.jsonl:6: human_wit: unknown judge column 'wit'",
        "lab/labels/d.jsonl:7: unknown key 'verdict'",
        "lab/labels/d.jsonl:7: no verdict: give a `human_<column>` field",
        "lab/labels/d.jsonl:9: item '2': this output is labelled for 'says' on line 8 already",
        "lab/labels/d.jsonl:10: expected a JSON object",
        "lab/labels/nothere.jsonl: unknown dataset 'nothere'",
        "lab/labels/d.csv: not read: human labels go in JSON Lines, <dataset>.jsonl",
    ):
        assert expected in text, expected


def test_a_human_field_in_a_dataset_is_pointed_to_the_labels_file(write_lab: object) -> None:
    lab = load_lab(
        write_lab(  # type: ignore[operator]
            {
                **BASE,
                "datasets/d.jsonl": '{"id": "1", "question": "q", "expected": "a", '
                '"human_says": 1}\n',
            }
        )
    )
    warnings = [w for w in lab_warnings(lab) if "human_says" in w.message]
    assert len(warnings) == 1 and "labels/d.jsonl" in warnings[0].message


def test_the_sample_lab_ships_labels_for_the_capitals_outputs() -> None:
    lab = load_lab(ROOT / "lab")
    labels = lab.human_labels["capitals"]
    items = {item for item, _ in labels.for_column("states_answer")}
    assert len(items) >= 50
    assert set(labels.for_column("states_answer").values()) == {0.0, 1.0}
