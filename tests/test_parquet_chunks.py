"""Artifacts are written as Parquet in row chunks: the same content as one ``to_parquet``, and
never half a file where the previous one was."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from upath import UPath

from llmlab_pipelines._atomic import PARQUET_CHUNK_ROWS, write_parquet_atomic
from llmlab_pipelines.resources.artifacts import ParquetUPathIOManager


def generations_like(n: int) -> pd.DataFrame:
    """Rows like the generations table: errors (None) only late, mixed types, one empty column."""
    return pd.DataFrame(
        {
            "item_id": [f"i{i}" for i in range(n)],
            "repeat": [i % 3 for i in range(n)],
            "output": [None if i % 11 == 0 else f"answer {i} é" for i in range(n)],
            "error": [None] * (n - n // 4) + ["timeout"] * (n // 4),
            "latency_s": [i / 7 for i in range(n)],
            "cached": [i % 2 == 0 for i in range(n)],
            "never": [None] * n,
        }
    )


def unchunked(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.read_parquet(io.BytesIO(frame.to_parquet(index=False)))


@pytest.mark.parametrize(("rows", "chunk"), [(0, 5), (1, 5), (23, 5), (25, 5), (23, 100)])
def test_chunked_content_is_the_unchunked_content(tmp_path: Path, rows: int, chunk: int) -> None:
    frame = generations_like(rows)
    target = UPath(tmp_path / "generations" / "p.parquet")
    write_parquet_atomic(target, frame, chunk_rows=chunk)
    pd.testing.assert_frame_equal(pd.read_parquet(target), unchunked(frame))
    assert pq.ParquetFile(target).metadata.num_row_groups == max(-(-rows // chunk), 1)
    assert [p.name for p in target.parent.iterdir()] == ["p.parquet"]  # no temporary left


def test_the_io_manager_writes_big_partitions_in_chunks(tmp_path: Path) -> None:
    frame = generations_like(2 * PARQUET_CHUNK_ROWS + 7)
    target = UPath(tmp_path / "p.parquet")
    ParquetUPathIOManager(base_path=UPath(tmp_path)).dump_to_path(None, frame, target)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(pd.read_parquet(target), unchunked(frame))
    assert pq.ParquetFile(target).metadata.num_row_groups == 3


def test_a_write_failing_mid_way_leaves_the_previous_file_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = UPath(tmp_path / "p.parquet")
    before = generations_like(4)
    write_parquet_atomic(target, before)
    write = pq.ParquetWriter.write_table
    calls: list[int] = []

    def failing(self: pq.ParquetWriter, table: pa.Table, **kwargs: object) -> None:
        calls.append(1)
        if len(calls) == 2:  # the second chunk
            raise OSError("disk full")
        write(self, table, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pq.ParquetWriter, "write_table", failing)
    with pytest.raises(OSError, match="disk full"):
        write_parquet_atomic(target, generations_like(30), chunk_rows=10)
    pd.testing.assert_frame_equal(pd.read_parquet(target), unchunked(before))
    assert [p.name for p in tmp_path.iterdir()] == ["p.parquet"]
