"""Datasets: JSONL, JSON, CSV/TSV or Parquet files of records with an ``id``, read as published
and mapped by an optional sidecar (``datasets/<name>.yaml``: ids, ``expected``, renames)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._errors import IssueCollector, LabError, shown, shown_names
from ._formats import DATASET_SUFFIXES, csv_header, read_rows
from ._sidecar import Sidecar, load_sidecar, missing_id_hint, sidecar_path

MAX_DATASET_BYTES = 512 * 1024 * 1024
MAX_ISSUES_PER_FILE = 20
RESERVED_FIELDS = frozenset({"id", "expected"})
#: Names templates give to something else: ``{{ item }}`` is the whole record.
FORBIDDEN_FIELDS = frozenset({"item"})

__all__ = ["DATASET_SUFFIXES", "Dataset", "read_records"]


@dataclass
class Dataset:
    """A dataset file; records load on first use.

    Args:
        name: The file's stem, used as the dataset's partition key.
        path: The file.
        display: The name used in error messages (``lab/datasets/x.jsonl``).
    """

    name: str
    path: Path
    display: str
    _records: list[dict[str, Any]] | None = field(default=None, repr=False)
    _lines: dict[str, int] = field(default_factory=dict, repr=False)

    @property
    def records(self) -> list[dict[str, Any]]:
        """Every record, with ``id`` as a string. Raises LabError on a bad file."""
        if self._records is None:
            sidecar = load_sidecar(self.path, self.display)
            self._records, self._lines = read_records(self.path, self.display, sidecar)
        return self._records

    @property
    def fields(self) -> list[str]:
        """Field names, in first-seen order."""
        seen: dict[str, None] = {}
        for record in self.records:
            seen.update(dict.fromkeys(record))
        return list(seen)

    def digest(self) -> str:
        """A hash of what the records are made of: the data file and its sidecar, if any."""
        digest = hashlib.sha256(self.path.read_bytes())
        sidecar = sidecar_path(self.path)
        if sidecar is not None:
            digest.update(b"\0sidecar\0" + sidecar.read_bytes())
        return digest.hexdigest()

    def line_of(self, item_id: str) -> int | None:
        """The line (JSONL/CSV) where an item is defined."""
        _ = self.records
        return self._lines.get(item_id)


def read_records(
    path: Path, display: str, sidecar: Sidecar | None = None
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Read and check a dataset file, mapped by its sidecar when it has one.

    Returns:
        The records and a map from item id to line.

    Raises:
        LabError: listing every bad line (invalid JSON, missing or duplicate ids ...).
    """
    size = path.stat().st_size
    if size > MAX_DATASET_BYTES:
        raise LabError.single(
            display,
            f"dataset is {size / 2**20:,.0f} MiB; the limit is {MAX_DATASET_BYTES >> 20} MiB",
        )
    issues = IssueCollector()
    rows = list(read_rows(path, display, issues))
    if sidecar is not None:
        rows = list(sidecar.apply(rows, issues))
    if (sidecar is None or sidecar.spec.id is None) and _no_ids(path, rows, display, issues):
        issues.raise_if_any()
    id_field = "'id'"
    if sidecar is not None and sidecar.spec.id not in (None, "line", "hash"):
        id_field = f"{shown(sidecar.spec.id)} (the id field {sidecar.display} names)"
    records: list[dict[str, Any]] = []
    lines: dict[str, int] = {}
    forbidden: set[str] = set()
    for line, row in rows:
        for name in FORBIDDEN_FIELDS & (set(row) - forbidden):
            forbidden.add(name)
            issues.add(
                display,
                f"field {name!r} is reserved: templates use {{{{ {name} }}}} for the whole "
                "record; rename the field",
                line=line,
            )
        record = _check_record(row, line, display, issues, lines, id_field)
        if record is not None:
            records.append(record)
        if len(issues.issues) >= MAX_ISSUES_PER_FILE:
            issues.add(display, f"stopped after {MAX_ISSUES_PER_FILE} problems")
            break
    if not rows and not issues.issues:
        issues.add(display, "dataset has no records")
    issues.raise_if_any()
    return records, lines


def _no_ids(
    path: Path, rows: list[tuple[int, dict[str, Any]]], display: str, issues: IssueCollector
) -> bool:
    """One problem, naming the sidecar fix, when no record has an ``id`` (not one per line)."""
    if not rows or any("id" in row for _, row in rows):
        return False
    hint = missing_id_hint(display)
    if path.suffix.lower() in (".csv", ".tsv"):
        found = ", ".join(shown(n) for n in csv_header(path)[:10])
        issues.add(display, f"the header has no 'id' column (columns: {found}); {hint}", line=1)
    else:
        fields = shown_names(dict.fromkeys(k for _, row in rows[:20] for k in row))
        issues.add(display, f"no record has an 'id' (fields: {fields}); {hint}", line=rows[0][0])
    return True


def _check_record(
    row: dict[str, Any],
    line: int,
    display: str,
    issues: IssueCollector,
    lines: dict[str, int],
    id_field: str = "'id'",
) -> dict[str, Any] | None:
    raw_id = row.get("id")
    if raw_id is None or (isinstance(raw_id, str) and not raw_id.strip()):
        issues.add(display, f"record has no {id_field}", line=line)
        return None
    if isinstance(raw_id, (dict, list, float)):
        issues.add(display, f"'id' must be a string or integer, got {shown(raw_id)}", line=line)
        return None
    item_id = str(raw_id)
    if item_id in lines:
        issues.add(
            display, f"duplicate id {shown(item_id)} (first on line {lines[item_id]})", line=line
        )
        return None
    lines[item_id] = line
    return {**row, "id": item_id}
