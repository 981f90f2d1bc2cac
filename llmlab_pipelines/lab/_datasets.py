"""Datasets: JSONL, CSV or Parquet files of records with an ``id``."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._errors import IssueCollector, LabError, shown

DATASET_SUFFIXES = (".jsonl", ".csv", ".parquet")
MAX_DATASET_BYTES = 512 * 1024 * 1024
MAX_ISSUES_PER_FILE = 20
RESERVED_FIELDS = frozenset({"id", "expected"})
#: Names templates give to something else: ``{{ item }}`` is the whole record.
FORBIDDEN_FIELDS = frozenset({"item"})
CSV_DELIMITERS = ",;\t|"


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
            self._records, self._lines = read_records(self.path, self.display)
        return self._records

    @property
    def fields(self) -> list[str]:
        """Field names, in first-seen order."""
        seen: dict[str, None] = {}
        for record in self.records:
            seen.update(dict.fromkeys(record))
        return list(seen)

    def line_of(self, item_id: str) -> int | None:
        """The line (JSONL/CSV) where an item is defined."""
        _ = self.records
        return self._lines.get(item_id)


def read_records(path: Path, display: str) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Read and check a dataset file.

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
    rows = list(_read_rows(path, display, issues))
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
        record = _check_record(row, line, display, issues, lines)
        if record is not None:
            records.append(record)
        if len(issues.issues) >= MAX_ISSUES_PER_FILE:
            issues.add(display, f"stopped after {MAX_ISSUES_PER_FILE} problems")
            break
    if not rows and not issues.issues:
        issues.add(display, "dataset has no records")
    issues.raise_if_any()
    return records, lines


def _read_rows(path: Path, display: str, issues: IssueCollector):  # type: ignore[no-untyped-def]
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        yield from _jsonl_rows(path, display, issues)
    elif suffix == ".csv":
        yield from _csv_rows(path, display, issues)
    elif suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path)
        except Exception as exc:
            issues.add(display, f"unreadable Parquet file: {exc}")
            return
        for index, row in enumerate(table.to_pylist()):
            yield index + 1, row
    else:
        issues.add(
            display, f"unsupported dataset format (use one of {', '.join(DATASET_SUFFIXES)})"
        )


def _csv_rows(path: Path, display: str, issues: IssueCollector):  # type: ignore[no-untyped-def]
    """Rows of a CSV file; a BOM (Excel's UTF-8) is dropped, the delimiter sniffed from
    ``, ; tab |`` in the header line."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            header = fh.readline()
            fh.seek(0)
            delimiter = _delimiter(header)
            reader = csv.DictReader(fh, delimiter=delimiter)
            if reader.fieldnames and "id" not in reader.fieldnames:
                found = ", ".join(shown(n) for n in reader.fieldnames[:10])
                issues.add(display, f"the header has no 'id' column (columns: {found})", line=1)
                return
            for row in reader:
                yield reader.line_num, {k: v for k, v in row.items() if k is not None}
    except UnicodeDecodeError as exc:
        issues.add(display, f"not UTF-8 text ({exc.reason})")
    except csv.Error as exc:
        issues.add(display, f"unreadable CSV: {exc}")


def _delimiter(header: str) -> str:
    """The delimiter the header line uses most (a comma when it has none of them)."""
    counts = {d: header.count(d) for d in CSV_DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows (write null or a string)")


def _jsonl_rows(path: Path, display: str, issues: IssueCollector):  # type: ignore[no-untyped-def]
    with path.open(encoding="utf-8", errors="strict") as fh:
        try:
            for number, text in enumerate(fh, start=1):
                if not text.strip():
                    continue
                try:
                    value = json.loads(text, parse_constant=_no_constant)
                except json.JSONDecodeError as exc:
                    issues.add(
                        display, f"invalid JSON: {exc.msg} (column {exc.colno})", line=number
                    )
                    continue
                except ValueError as exc:  # NaN, Infinity, -Infinity
                    issues.add(display, f"invalid JSON: {exc}", line=number)
                    continue
                if not isinstance(value, dict):
                    issues.add(
                        display, f"expected a JSON object, got {type(value).__name__}", line=number
                    )
                    continue
                yield number, value
        except UnicodeDecodeError as exc:
            issues.add(display, f"not UTF-8 text ({exc.reason})")


def _check_record(
    row: dict[str, Any], line: int, display: str, issues: IssueCollector, lines: dict[str, int]
) -> dict[str, Any] | None:
    raw_id = row.get("id")
    if raw_id is None or (isinstance(raw_id, str) and not raw_id.strip()):
        issues.add(display, "record has no 'id'", line=line)
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
