"""Dataset quality: duplicate inputs are a warning with their count and ids; the sample lab's
datasets have none, and the arithmetic file is what its script writes."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import dagster as dg
import pytest

from llmlab_pipelines.assets import eval_datasets
from llmlab_pipelines.definitions import build_resources
from llmlab_pipelines.lab import load_lab
from llmlab_pipelines.lab._quality import duplicate_inputs, records_frame, validate_frame
from llmlab_pipelines.resources import LabResource

ROOT = Path(__file__).resolve().parents[2]
RECORDS = [
    {"id": "q1", "question": "What is 2 + 2?", "expected": "4"},
    {"id": "q2", "question": "What is 3 + 3?", "expected": "6"},
    {"id": "q3", "question": "What is 2 + 2?", "expected": "4"},
    {"id": "q4", "question": "What is 2 + 2?", "expected": "four"},
    {"id": "q5", "question": "What is 3 + 3?", "expected": "6"},
    {"id": "q6", "question": "What is 5 + 5?", "expected": "10"},
]


def test_duplicate_inputs_are_a_warning_with_count_and_ids() -> None:
    report = validate_frame("d", records_frame(RECORDS), ["question"])
    assert report.success  # a warning never fails the suite
    (warning,) = report.warnings
    assert warning.name == "no_duplicate_inputs" and warning.column == "question"
    assert warning.detail.startswith("3 items repeat an earlier item's inputs (2 inputs")
    assert "'What is 2 + 2?': q1, q3, q4" in warning.detail
    assert "'What is 3 + 3?': q2, q5" in warning.detail
    assert "⚠️ | no_duplicate_inputs" in report.markdown()


def test_inputs_are_the_fields_the_prompts_use() -> None:
    records = [
        {"id": "a", "question": "same", "context": "one"},
        {"id": "b", "question": "same", "context": "two"},
    ]
    frame = records_frame(records)
    assert duplicate_inputs(frame, ["question"]) == [("same", ["a", "b"])]
    assert duplicate_inputs(frame, ["question", "context"]) == []
    assert not validate_frame("d", frame, ["question", "context"]).warnings
    assert validate_frame("d", frame, ["question"]).warnings


@pytest.mark.parametrize("name", ["arithmetic", "capitals"])
def test_the_sample_datasets_have_no_duplicate_inputs(name: str) -> None:
    lab = load_lab(ROOT / "lab")
    frame = records_frame(lab.datasets[name].records)
    fields = [c for c in frame.columns if c not in ("id", "expected", "record_json")]
    for field in fields:
        assert duplicate_inputs(frame, [field]) == [], f"{name}.{field}"


def test_the_arithmetic_file_is_what_its_script_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = importlib.util.spec_from_file_location("make", ROOT / "scripts/make_sample_datasets.py")
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    monkeypatch.setattr(script, "OUT", tmp_path / "arithmetic.jsonl")
    script.main()
    written = (tmp_path / "arithmetic.jsonl").read_text()
    assert written == (ROOT / "lab/datasets/arithmetic.jsonl").read_text()
    records = [json.loads(line) for line in written.splitlines()]
    assert len(records) == 200 == len({r["expression"] for r in records})
    for r in records:  # single-digit facts: the operands' sum or difference is one digit
        a, op, b = r["expression"].split()
        answer = int(a) + int(b) if op == "+" else int(a) - int(b)
        assert r["expected"] == str(answer) and r["question"] == f"What is {r['expression']}?"
        assert (int(b) <= 9 and 0 <= answer <= 9) if op == "-" else max(int(a), int(b)) <= 9


def test_the_check_warns_and_the_dataset_is_still_stored(write_lab) -> None:  # type: ignore[no-untyped-def]
    root = write_lab(
        {
            "models.yaml": "local:\n  model: llmlab/gemma3-270m\n  mode: completion\n",
            "prompts/p.jinja": "Q: {{ question }}\nA:",
            "datasets/d.jsonl": "".join(json.dumps(r) + "\n" for r in RECORDS),
            "experiments/e.yaml": "dataset: d\nprompts: [p]\nmodels: [local]\n",
        }
    )
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("datasets", ["d"])
        result = dg.materialize(
            [eval_datasets],
            partition_key="d",
            instance=instance,
            resources={**build_resources(), "lab": LabResource(path=str(root))},
            raise_on_error=False,
        )
    assert result.success
    (check,) = result.get_asset_check_evaluations()
    assert check.check_name == "dataset_quality" and not check.passed
    assert check.severity == dg.AssetCheckSeverity.WARN
    assert "lab/datasets/d.jsonl: warning: no_duplicate_inputs(question): 3 items" in (
        check.description or ""
    )
    assert result.asset_materializations_for_node("eval_datasets")
