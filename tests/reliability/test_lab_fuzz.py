"""Fuzzing the lab format: whatever a user writes, loading the lab either works or raises one
LabError listing every problem with its file (and line or key where there is one) — never a
traceback from deeper down. The counts feed the README's reliability table."""

from __future__ import annotations

import json
import os
import shutil
import string
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmlab_pipelines.lab import Lab, LabError, load_lab

pytestmark = pytest.mark.reliability
ROOT = Path(__file__).resolve().parents[2]
FUZZ = settings(
    max_examples=int(os.environ.get("LLMLAB_FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
TOKENS = [*string.printable, "{{", "}}", "{%", "%}", ": ", "- ", "é", "\x00", "\t- a: b"]
junk_text = st.lists(st.sampled_from(TOKENS), max_size=120).map("".join)


def base_lab(tmp: Path) -> Path:
    root = tmp / "lab"
    if root.exists():
        shutil.rmtree(root)
    for folder in ("prompts", "datasets", "experiments"):
        (root / folder).mkdir(parents=True)
    (root / "models.yaml").write_text("m:\n  model: openai/m\n  api_key_env: M_KEY\n")
    (root / "prompts" / "p.jinja").write_text("Q: {{ question }}\nA:")
    (root / "datasets" / "d.jsonl").write_text(
        "\n".join(
            json.dumps({"id": f"i{k}", "question": f"q{k}", "expected": "a"}) for k in range(5)
        )
        + "\n"
    )
    (root / "experiments" / "e.yaml").write_text(
        "dataset: d\nprompts: [p]\nmodels: [m]\nmetrics: [exact_match]\n"
    )
    return root


def outcome(root: Path) -> str:
    """``ok`` or ``refused``; anything but a LabError fails the test."""
    try:
        lab = load_lab(root)
    except LabError as exc:
        assert exc.issues, "a LabError without issues"
        for issue in exc.issues:
            assert issue.file and issue.message, issue
            assert "Traceback" not in issue.message
        assert all(issue.file in str(exc) for issue in exc.issues)
        return "refused"
    assert isinstance(lab, Lab)
    return "ok"


@FUZZ
@given(data=values)
def test_any_models_yaml(tmp_path: Path, data: Any) -> None:
    root = base_lab(tmp_path)
    (root / "models.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
    outcome(root)


@FUZZ
@given(text=junk_text)
def test_any_text_as_models_yaml_or_experiment(tmp_path: Path, text: str) -> None:
    root = base_lab(tmp_path)
    (root / "models.yaml").write_text(text)
    outcome(root)
    root = base_lab(tmp_path)
    (root / "experiments" / "e.yaml").write_text(text)
    outcome(root)


@FUZZ
@given(
    key=st.sampled_from(
        [
            "dataset",
            "prompts",
            "models",
            "metrics",
            "params",
            "baseline",
            "repeats",
            "mode",
            "adaptive",
            "optimize",
            "budget_usd",
            "gate",
            "params_grid",
            "judges",
            "limit",
            "alpha",
        ]
    ),
    value=values,
)
def test_any_value_for_an_experiment_key(tmp_path: Path, key: str, value: Any) -> None:
    root = base_lab(tmp_path)
    experiment = {"dataset": "d", "prompts": ["p"], "models": ["m"], "metrics": ["exact_match"]}
    experiment[key] = value
    (root / "experiments" / "e.yaml").write_text(yaml.safe_dump(experiment, allow_unicode=True))
    if outcome(root) == "refused":
        return
    lab = load_lab(root)
    lab.plans()  # a lab that loads must also plan without raising


@FUZZ
@given(lines=st.lists(st.one_of(junk_text, values.map(json.dumps)), min_size=1, max_size=8))
def test_any_dataset_lines(tmp_path: Path, lines: list[str]) -> None:
    root = base_lab(tmp_path)
    (root / "datasets" / "d.jsonl").write_text("\n".join(lines))
    outcome(root)
    root = base_lab(tmp_path)
    (root / "datasets" / "d.jsonl").unlink()
    (root / "datasets" / "d.csv").write_text("\n".join(lines))
    outcome(root)


@FUZZ
@given(blob=st.binary(max_size=300))
def test_any_bytes_as_parquet_or_template(tmp_path: Path, blob: bytes) -> None:
    root = base_lab(tmp_path)
    (root / "datasets" / "d.jsonl").unlink()
    (root / "datasets" / "d.parquet").write_bytes(blob)
    assert outcome(root) == "refused"
    root = base_lab(tmp_path)
    (root / "prompts" / "p.jinja").write_bytes(blob)
    outcome(root)


@FUZZ
@given(text=junk_text)
def test_any_template_text(tmp_path: Path, text: str) -> None:
    root = base_lab(tmp_path)
    (root / "prompts" / "p.jinja").write_text(text)
    outcome(root)


def test_a_broken_dataset_line_names_its_line(tmp_path: Path) -> None:
    root = base_lab(tmp_path)
    good = (root / "datasets" / "d.jsonl").read_text().splitlines()
    (root / "datasets" / "d.jsonl").write_text("\n".join([*good[:2], "{not json", *good[2:]]))
    with pytest.raises(LabError) as info:
        load_lab(root)
    assert "datasets/d.jsonl:3" in str(info.value)


def test_oversized_inputs_are_refused_with_the_limit(tmp_path: Path) -> None:
    root = base_lab(tmp_path)
    (root / "prompts" / "p.jinja").write_text("{{ question }}" + "x" * 1_000_001)
    with pytest.raises(LabError, match=r"the limit is 1,000,000"):
        load_lab(root)
    root = base_lab(tmp_path)
    with (root / "datasets" / "d.jsonl").open("r+b") as f:  # a sparse 600 MB file: no disk used
        f.truncate(600 * 1024 * 1024)
    with pytest.raises(LabError, match=r"the limit is 512 MiB"):
        load_lab(root)


def test_a_100_mb_dataset_loads(tmp_path: Path) -> None:
    root = base_lab(tmp_path)
    row = {"id": "", "question": "q" * 1000, "expected": "a"}
    with (root / "datasets" / "d.jsonl").open("w") as f:
        for k in range(100_000):  # ~100 MB
            row["id"] = f"i{k}"
            f.write(json.dumps(row) + "\n")
    assert (root / "datasets" / "d.jsonl").stat().st_size > 100e6
    lab = load_lab(root)
    assert len(lab.datasets["d"].records) == 100_000


ESCAPES = [
    "{% include '/etc/passwd' %}",
    "{% include '../../../../etc/passwd' %}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ question.__class__.__base__.__subclasses__() }}",
    "{% set x = namespace() %}{{ x.__init__.__globals__ }}",
]


@pytest.mark.parametrize("text", ESCAPES)
def test_a_template_cannot_read_files_or_call_python(tmp_path: Path, text: str) -> None:
    root = base_lab(tmp_path)
    (root / "prompts" / "p.jinja").write_text("{{ question }} " + text)
    try:
        lab = load_lab(root)
    except LabError as exc:
        assert "p.jinja" in str(exc)
        return
    record = lab.datasets["d"].records[0]
    with pytest.raises(LabError) as info:
        out = lab.prompts["p"].render(record, item_id=record["id"])
        assert "root:" not in out and "uid=" not in out  # never reached if refused
    assert "p.jinja" in str(info.value)
