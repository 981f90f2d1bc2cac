"""Human labels: ``labels/<dataset>.jsonl``, a person's verdict on one output of one item.

A line is ``{"id": "cap-007", "output": "Paris", "human_states_answer": "yes"}``: the item, the
output text the person read, and their verdict for a judge column (``human_<column>``: a label
of that judge, or a score on its scale); an optional ``note`` says why. A label counts for every
candidate whose output for that item is the same text (surrounding whitespace aside), so it
stays true when outputs change: a new output simply has no human label.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._datasets import Dataset
from ._errors import IssueCollector, LabError, shown, shown_names, unknown
from ._judges import JudgeConfig
from ._read import Display

PREFIX = "human_"
MAX_ISSUES_PER_FILE = 20


@dataclass(frozen=True)
class HumanLabel:
    """One person's verdict on one output, for one judge column.

    Attributes:
        item_id: The dataset item.
        output: The output text read, without surrounding whitespace.
        column: The judge column (``states_answer``).
        value: The verdict as a raw score on the judge's scale (a label's value).
        line: Where it is written.
    """

    item_id: str
    output: str
    column: str
    value: float
    line: int


@dataclass(frozen=True)
class HumanLabels:
    """The human labels of one dataset: ``labels/<dataset>.jsonl``."""

    display: str
    labels: tuple[HumanLabel, ...]

    def columns(self) -> list[str]:
        """The judge columns labelled, in first-seen order."""
        return list(dict.fromkeys(label.column for label in self.labels))

    def for_column(self, column: str) -> dict[tuple[str, str], float]:
        """``(item id, output text) -> verdict`` for one judge column."""
        return {(x.item_id, x.output): x.value for x in self.labels if x.column == column}


def judge_label_columns(judges: dict[str, JudgeConfig]) -> dict[str, JudgeConfig]:
    """``column -> its judge`` for every column a rubric judge adds (what humans can label)."""
    return {
        column: config
        for name, config in judges.items()
        if config.rules.member
        for column in config.columns(name).values()
    }


def load_labels(
    folder: Path,
    disp: Display,
    issues: IssueCollector,
    datasets: dict[str, Dataset],
    judges: dict[str, JudgeConfig],
    *,
    check_ids: bool = True,
) -> dict[str, HumanLabels]:
    """``labels/*.jsonl`` (the folder is optional), each checked line by line.

    Every problem is added to ``issues`` with the file and line: a file named after no dataset,
    invalid JSON, a missing ``id`` or ``output``, an unknown item or judge column, a verdict
    that is not one of the judge's labels or is off its scale, an output labelled twice.
    """
    if not folder.is_dir():
        return {}
    columns = judge_label_columns(judges)
    out: dict[str, HumanLabels] = {}
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix not in (".jsonl", ".md") and path.name[0] != ".":
            issues.add(disp(path), "not read: human labels go in JSON Lines, <dataset>.jsonl")
    for path in sorted(folder.glob("*.jsonl")):
        file = disp(path)
        dataset = datasets.get(path.stem)
        if dataset is None:
            issues.add(file, unknown("dataset", path.stem, datasets) + ": name the file after it")
            continue
        found = IssueCollector()
        labels = _read(path, file, columns, found)
        if check_ids:
            _check_ids(dataset, labels, file, found)
        issues.issues.extend(found.issues[:MAX_ISSUES_PER_FILE])
        if not found.issues:
            out[path.stem] = HumanLabels(file, tuple(labels))
    return out


def _read(
    path: Path, file: str, columns: dict[str, JudgeConfig], issues: IssueCollector
) -> list[HumanLabel]:
    labels: list[HumanLabel] = []
    seen: dict[tuple[str, str, str], int] = {}
    for number, text in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        if not text.strip():
            continue
        try:
            row = json.loads(text)
        except ValueError as exc:
            issues.add(file, f"invalid JSON ({exc})", line=number)
            continue
        for label in _labels_of(row, number, file, columns, issues):
            key = (label.item_id, label.output, label.column)
            if key in seen:
                issues.add(
                    file,
                    f"item {shown(label.item_id)}: this output is labelled for "
                    f"{shown(label.column)} on line {seen[key]} already",
                    line=number,
                )
                continue
            seen[key] = number
            labels.append(label)
    return labels


def _labels_of(
    row: Any, line: int, file: str, columns: dict[str, JudgeConfig], issues: IssueCollector
) -> list[HumanLabel]:
    """The verdicts of one line, or none once its problems are added to ``issues``."""
    if not isinstance(row, dict):
        issues.add(file, "expected a JSON object: {id, output, human_<column>}", line=line)
        return []
    problems = []
    item_id, output = row.get("id"), row.get("output")
    if not isinstance(item_id, (str, int)) or isinstance(item_id, bool) or item_id == "":
        problems.append("`id` (the dataset item) is missing or not a string")
    if not isinstance(output, str):
        problems.append("`output` (the output text labelled) is missing or not a string")
    verdicts = {k: v for k, v in row.items() if k.startswith(PREFIX)}
    for key in sorted(set(row) - {"id", "output", "note", *verdicts}):
        problems.append(f"unknown key {shown(key)} (allowed: id, output, note, human_<column>)")
    if not verdicts:
        known = shown_names([PREFIX + c for c in columns]) or "none: the lab has no rubric judge"
        problems.append(f"no verdict: give a `human_<column>` field ({known})")
    out = []
    for key, raw in verdicts.items():
        column = key.removeprefix(PREFIX)
        if column not in columns:
            problems.append(f"{key}: " + unknown("judge column", column, columns))
            continue
        value = _value(raw, columns[column])
        if isinstance(value, str):
            problems.append(f"{key}: {value}")
        elif not problems:
            out.append(HumanLabel(str(item_id), str(output).strip(), column, value, line))
    for problem in problems:
        issues.add(file, problem, line=line)
    return [] if problems else out


def _value(raw: Any, judge: JudgeConfig) -> float | str:
    """The verdict as a raw score, or why it is not one."""
    if judge.labels:
        by_name = {str(k).lower(): float(v) for k, v in judge.labels.items()}
        if isinstance(raw, str) and raw.strip().lower() in by_name:
            return by_name[raw.strip().lower()]
        if _number(raw) and float(raw) in by_name.values():
            return float(raw)
        return f"{shown(str(raw))} is not one of the judge's labels ({'/'.join(judge.labels)})"
    lo, hi = judge.bounds
    if _number(raw) and lo <= float(raw) <= hi:
        return float(raw)
    return f"{shown(str(raw))} is not a score on the judge's scale {lo:g}..{hi:g}"


def _number(raw: Any) -> bool:
    return isinstance(raw, (int, float)) and not isinstance(raw, bool)


def _check_ids(
    dataset: Dataset, labels: list[HumanLabel], file: str, issues: IssueCollector
) -> None:
    """Each label's item is one of the dataset's (when its records can be read)."""
    try:
        ids = {str(r["id"]) for r in dataset.records}
    except LabError:
        return  # the dataset's own problems are reported with it
    for label in labels:
        if label.item_id not in ids:
            issues.add(
                file,
                f"item {shown(label.item_id)} is not in dataset {shown(dataset.name)}",
                line=label.line,
            )
