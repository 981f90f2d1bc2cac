"""Reading the rows of a dataset file as published: JSON Lines, JSON arrays, CSV/TSV, Parquet.

Every reader yields ``(line, row)``: the line of a JSONL or CSV file, the row (from 1) of a
Parquet file or the element (from 1) of a JSON array. Problems go to an IssueCollector with
their line, so every bad line of a file is reported at once.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ._errors import IssueCollector

DATASET_SUFFIXES = (".jsonl", ".json", ".csv", ".tsv", ".parquet")
CSV_DELIMITERS = ",;\t|"

Rows = Iterator[tuple[int, dict[str, Any]]]


def read_rows(path: Path, display: str, issues: IssueCollector) -> Rows:
    """The rows of a dataset file, whichever of :data:`DATASET_SUFFIXES` it has."""
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        yield from _jsonl_rows(path, display, issues)
    elif suffix == ".json":
        yield from _json_rows(path, display, issues)
    elif suffix in (".csv", ".tsv"):
        yield from _csv_rows(path, display, issues, tab=suffix == ".tsv")
    elif suffix == ".parquet":
        yield from _parquet_rows(path, display, issues)
    else:
        issues.add(
            display, f"unsupported dataset format (use one of {', '.join(DATASET_SUFFIXES)})"
        )


def _parquet_rows(path: Path, display: str, issues: IssueCollector) -> Rows:
    """Rows of a Parquet file; nested columns (Hugging Face's ``answers: {text: [...]}``) stay
    nested: dicts and lists, reachable as ``answers.text``."""
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:
        issues.add(display, f"unreadable Parquet file: {exc}")
        return
    for index, row in enumerate(table.to_pylist()):
        yield index + 1, row


def _csv_rows(path: Path, display: str, issues: IssueCollector, *, tab: bool = False) -> Rows:
    """Rows of a CSV file; a BOM (Excel's UTF-8) is dropped, the delimiter sniffed from
    ``, ; tab |`` in the header line (a ``.tsv`` file uses tabs)."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            header = fh.readline()
            fh.seek(0)
            reader = csv.DictReader(fh, delimiter="\t" if tab else sniff_delimiter(header))
            for row in reader:
                yield reader.line_num, {k: v for k, v in row.items() if k is not None}
    except UnicodeDecodeError as exc:
        issues.add(display, f"not UTF-8 text ({exc.reason})")
    except csv.Error as exc:
        issues.add(display, f"unreadable CSV: {exc}")


def csv_header(path: Path) -> list[str]:
    """The column names of a CSV/TSV file (BOM dropped, delimiter sniffed)."""
    with path.open(newline="", encoding="utf-8-sig", errors="replace") as fh:
        header = fh.readline()
    tab = path.suffix.lower() == ".tsv"
    return next(csv.reader([header], delimiter="\t" if tab else sniff_delimiter(header)), [])


def sniff_delimiter(header: str) -> str:
    """The delimiter the header line uses most (a comma when it has none of them)."""
    counts = {d: header.count(d) for d in CSV_DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows (write null or a string)")


def _json_rows(path: Path, display: str, issues: IssueCollector) -> Rows:
    """A ``.json`` file: an array of objects, or JSON Lines (what ``datasets.to_json`` writes)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        issues.add(display, f"not UTF-8 text ({exc.reason})")
        return
    if not text.lstrip().startswith("["):
        if _one_object(text):
            issues.add(
                display,
                "the file is one JSON object, not records: give a JSON array of objects or "
                "JSON Lines (one object per line)",
                line=1,
            )
            return
        yield from _jsonl_rows(path, display, issues)
        return
    try:
        values = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        issues.add(display, f"invalid JSON: {exc.msg} (column {exc.colno})", line=exc.lineno)
        return
    except ValueError as exc:
        issues.add(display, f"invalid JSON: {exc}")
        return
    for index, value in enumerate(values, start=1):
        if not isinstance(value, dict):
            issues.add(display, f"expected a JSON object, got {type(value).__name__}", line=index)
            continue
        yield index, value


def _one_object(text: str) -> bool:
    """True for a pretty-printed object over several lines (``{"data": [...]}``)."""
    if len([line for line in text.splitlines() if line.strip()]) < 2:
        return False
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def _jsonl_rows(path: Path, display: str, issues: IssueCollector) -> Rows:
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
