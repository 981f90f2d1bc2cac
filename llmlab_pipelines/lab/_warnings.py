"""Warnings about a valid lab: things that run, but probably not as meant. They never block.

- a metric that compares with ``expected`` on a dataset whose records have none (every item
  would score 0);
- a numeric metric whose ``expected`` is prose (a worked solution), not a number;
- items that repeat another item's inputs (count and examples);
- a sidecar ``datasets/<name>.yaml`` with no data file beside it;
- a dataset field ``human_<column>`` (human labels now live in ``labels/<dataset>.jsonl``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..metrics import Metric, numbers
from ._datasets import Dataset
from ._errors import LabError, LabIssue, shown
from ._formats import DATASET_SUFFIXES
from ._lab import Lab
from ._quality import duplicates_expectation, input_columns, records_frame
from ._sidecar import SIDECAR_SUFFIXES

NUMERIC_METRICS = frozenset({"numeric_match"})
#: words beside the number that still make a number (``18 dollars``, ``$18 per hour``)
MAX_UNIT_WORDS = 2


def lab_warnings(lab: Lab) -> list[LabIssue]:
    """Every warning about a loaded lab, each with its file (and key)."""
    found: list[LabIssue] = []
    for name, config in lab.experiments.items():
        dataset = lab.datasets.get(config.dataset)
        if dataset is None:
            continue
        file = _display(lab, _experiment_file(lab, name))
        for index, column in enumerate(config.metrics):
            metric = lab.metrics.get(column)
            if metric is not None:
                found += _metric_warnings(file, f"metrics[{index}]", metric, dataset)
    for dataset in lab.datasets.values():
        found += _duplicate_warnings(lab, dataset)
        found += _human_field_warnings(dataset)
    found += _orphan_sidecars(lab)
    return found


def _metric_warnings(file: str, key: str, metric: Metric, dataset: Dataset) -> list[LabIssue]:
    if not metric.needs_expected or metric.source is not None:
        return []
    records = _records(dataset)
    missing = [r["id"] for r in records if r.get("expected") is None]
    fix = f"map one in {_sidecar_display(dataset)}, e.g. `expected: answer`"
    if records and len(missing) == len(records):
        return [
            LabIssue(
                file,
                f"{metric.name!r} compares with `expected`, which no record of dataset "
                f"{dataset.name!r} has: every item would score 0 ({fix})",
                key=key,
            )
        ]
    out = []
    if missing:
        out.append(
            LabIssue(
                file,
                f"{len(missing)} of {len(records)} records of dataset {dataset.name!r} have no "
                f"`expected` (e.g. {', '.join(map(shown, missing[:3]))}): {metric.name!r} scores "
                "them 0",
                key=key,
            )
        )
    if dict(metric.options).get("metric", metric.name) in NUMERIC_METRICS:
        out += _prose_warnings(file, key, metric, dataset, records)
    return out


def _prose_warnings(
    file: str, key: str, metric: Metric, dataset: Dataset, records: list[dict[str, Any]]
) -> list[LabIssue]:
    prose = [r for r in records if r.get("expected") is not None and _is_prose(r["expected"])]
    if not prose:
        return []
    example = prose[0]
    line = dataset.line_of(example["id"])
    where = f"line {line}" if line is not None else f"item {example['id']!r}"
    return [
        LabIssue(
            file,
            f"{metric.name!r} compares numbers, but `expected` is prose in {len(prose)} of "
            f"{len(records)} records of dataset {dataset.name!r} (e.g. {where}: "
            f"{shown(str(example['expected']), 60)}); only its first number would count: "
            f"extract the answer in {_sidecar_display(dataset)}, e.g. "
            "`expected: \"{{ answer.split('####')[-1] | trim | replace(',', '') }}\"`",
            key=key,
        )
    ]


def _is_prose(expected: Any) -> bool:
    """True when ``expected`` is not one number (with at most a short unit)."""
    if isinstance(expected, bool):
        return True
    if isinstance(expected, (int, float)):
        return False
    if isinstance(expected, list):
        return any(_is_prose(e) for e in expected)
    text = str(expected)
    if len(numbers(text)) != 1:
        return True
    words = [w for w in text.split() if not numbers(w)]
    return len(words) > MAX_UNIT_WORDS


def _duplicate_warnings(lab: Lab, dataset: Dataset) -> list[LabIssue]:
    used = [e for e in lab.experiments.values() if e.dataset == dataset.name]
    if not used:
        return []
    records = _records(dataset)
    if not records:
        return []
    variables = {v for e in used for p in e.prompts if p in lab.prompts for v in _variables(lab, p)}
    frame = records_frame(records)
    result = duplicates_expectation(frame, input_columns(frame, sorted(variables)))
    if result.success:
        return []
    return [LabIssue(dataset.display, f"duplicate inputs: {result.detail}")]


def _human_field_warnings(dataset: Dataset) -> list[LabIssue]:
    fields = sorted({f for r in _records(dataset) for f in r if f.startswith("human_")})
    if not fields:
        return []
    return [
        LabIssue(
            dataset.display,
            f"field(s) {', '.join(fields)} are not read as human labels: a label is about one "
            "output, not an item, so it goes in labels/"
            f"{dataset.name}.jsonl with the output it judges: "
            f'{{"id": ..., "output": ..., "{fields[0]}": ...}}',
        )
    ]


def _variables(lab: Lab, prompt: str) -> frozenset[str]:
    return lab.prompts[prompt].variables


def _orphan_sidecars(lab: Lab) -> list[LabIssue]:
    folder = lab.root / "datasets"
    if not folder.is_dir():
        return []
    out = []
    for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in SIDECAR_SUFFIXES):
        if path.stem not in lab.datasets:
            out.append(
                LabIssue(
                    _display(lab, path),
                    f"a sidecar without a data file: no {path.stem}"
                    f"{{{','.join(DATASET_SUFFIXES)}}} beside it, so it is not used",
                )
            )
    return out


def _records(dataset: Dataset) -> list[dict[str, Any]]:
    try:
        return dataset.records
    except LabError:
        return []  # its problems are errors, reported by validation


def _experiment_file(lab: Lab, name: str) -> Path:
    folder = lab.root / "experiments"
    return next(
        (p for p in (folder / f"{name}.yaml", folder / f"{name}.yml") if p.is_file()),
        folder / f"{name}.yaml",
    )


def _display(lab: Lab, path: Path) -> str:
    try:
        return str(path.resolve().relative_to(lab.root.resolve().parent))
    except ValueError:
        return str(path)


def _sidecar_display(dataset: Dataset) -> str:
    return str(Path(dataset.display).with_suffix(".yaml"))
