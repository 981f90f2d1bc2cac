"""Metric entries with options in experiments: resolved, and every problem located."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmlab_pipelines.lab import LabError, load_lab

MODELS = "local:\n  model: llmlab/gemma3-270m\n  mode: completion\n  max_tokens: 8\n"
DATA = '{"id": "a", "question": "1+1?", "expected": "2"}\n'
HEAD = "dataset: d\nprompts: [p]\nmodels: [local]\n"


def lab_with(write_lab, **experiments: str) -> Path:  # type: ignore[no-untyped-def]
    files = {
        "models.yaml": MODELS,
        "prompts/p.jinja": "Q: {{ question }}\nA:",
        "datasets/d.jsonl": DATA,
    }
    files.update({f"experiments/{name}.yaml": HEAD + text for name, text in experiments.items()})
    return write_lab(files)  # type: ignore[no-any-return]


def problems(root: Path) -> str:
    with pytest.raises(LabError) as info:
        load_lab(root)
    return str(info.value)


def test_an_entry_with_options_scores_under_its_column(write_lab) -> None:  # type: ignore[no-untyped-def]
    root = lab_with(
        write_lab,
        e="metrics:\n  - exact_match\n  - numeric_match: {extract: last}\n"
        "primary_metric: numeric_match\n",
    )
    lab = load_lab(root)
    assert lab.experiments["e"].metrics == ["exact_match", "numeric_match"]
    assert lab.metrics_for(lab.candidates("e")[0].key, "d") == ["exact_match", "numeric_match"]
    metric = lab.metrics["numeric_match"]
    assert metric.fn("1 + 1 = 2", "2", {}) == 1.0  # the last number, not the first
    assert lab.experiment_metrics("e")["numeric_match"] is True


def test_bad_entries_are_located(write_lab) -> None:  # type: ignore[no-untyped-def]
    root = lab_with(
        write_lab,
        a="metrics:\n  - exact_match\n  - numeric_match: {extract: middle}\n",
        b="metrics:\n  - numerc_match: {extract: last}\n",
        c="metrics:\n  - {exact_match: {}, contains: {}}\n",
        d="metrics:\n  - numeric_match\n  - numeric_match: {extract: last}\n",
    )
    text = problems(root)
    assert "lab/experiments/a.yaml:6: metrics[1]: numeric_match: extract: unknown kind" in text
    assert "lab/experiments/b.yaml:5: metrics[0]: unknown metric 'numerc_match' (did you" in text
    assert "lab/experiments/c.yaml:5: metrics[0]: a metric is a name (exact_match) or one" in text
    assert "lab/experiments/d.yaml:4: metrics: 'numeric_match' appears twice; give" in text


def test_one_column_has_one_meaning_across_experiments(write_lab) -> None:  # type: ignore[no-untyped-def]
    root = lab_with(
        write_lab,
        plain="metrics: [numeric_match]\n",
        last="metrics:\n  - numeric_match: {extract: last}\n",
    )
    assert "experiment 'plain' scores 'numeric_match' without options" in problems(root)
    named = lab_with(
        write_lab,
        plain="metrics: [numeric_match]\n",
        last="metrics:\n  - numeric_match: {extract: last, name: last_number}\n",
    )
    lab = load_lab(named)
    assert lab.metrics["numeric_match"].fn("1 + 1 = 2", "2", {}) == 0.0
    assert lab.metrics["last_number"].fn("1 + 1 = 2", "2", {}) == 1.0
