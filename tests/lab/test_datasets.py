"""Dataset files: JSONL, CSV and Parquet, with errors that point at the line."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from llmlab_pipelines.lab import LabError
from llmlab_pipelines.lab._datasets import read_records


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_jsonl_records_and_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path, "d.jsonl", '{"id": 1, "q": "a"}\n\n{"id": "x", "q": "b", "expected": 3}\n'
    )
    records, lines = read_records(path, "d.jsonl")
    assert [r["id"] for r in records] == ["1", "x"]
    assert lines == {"1": 1, "x": 3}


def test_csv_and_parquet_read_the_same(tmp_path: Path) -> None:
    csv = write(tmp_path, "d.csv", "id,q,expected\na,hello,1\nb,world,2\n")
    frame = pd.DataFrame({"id": ["a", "b"], "q": ["hello", "world"], "expected": ["1", "2"]})
    frame.to_parquet(tmp_path / "p.parquet")
    from_csv, _ = read_records(csv, "d.csv")
    from_parquet, _ = read_records(tmp_path / "p.parquet", "p.parquet")
    assert from_csv == from_parquet


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"id": "a"}\n{"id": "b"\n', "d.jsonl:2: invalid JSON"),
        ('{"q": "no id"}\n', "d.jsonl:1"),
        ('["a list"]\n', "d.jsonl:1"),
        ('{"id": "a"}\n{"id": "a"}\n', "d.jsonl:2: duplicate id 'a' (first on line 1)"),
    ],
)
def test_bad_lines_are_located(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, "d.jsonl", text)
    with pytest.raises(LabError) as info:
        read_records(path, "d.jsonl")
    assert expected in str(info.value)


def test_every_bad_line_is_reported(tmp_path: Path) -> None:
    path = write(tmp_path, "d.jsonl", "{\n" * 5 + '{"id": "ok"}\n')
    with pytest.raises(LabError) as info:
        read_records(path, "d.jsonl")
    assert [i.line for i in info.value.issues] == [1, 2, 3, 4, 5]
