"""The generations table is built column by column: the same frame as one dict a row."""

from __future__ import annotations

import pandas as pd

from llmlab_pipelines.engine import GenerationResult, result_columns


def results() -> list[GenerationResult]:
    return [
        GenerationResult("a", 0, "4", prompt_tokens=5, completion_tokens=1, cost_usd=0.001),
        GenerationResult("b", 1, None, error="timed out", error_type="timeout", attempts=3),
        GenerationResult("c", 0, "x" * 10, cached=True, extra={"not": "a column"}),
    ]


def test_columns_make_the_frame_the_rows_make() -> None:
    rows = pd.DataFrame([r.row() for r in results()])
    columns = pd.DataFrame(result_columns(results()))
    pd.testing.assert_frame_equal(columns, rows)
    assert "extra" not in columns.columns


def test_no_results_still_have_the_columns() -> None:
    empty = pd.DataFrame(result_columns([]))
    assert list(empty.columns) == list(pd.DataFrame([results()[0].row()]).columns)
    assert len(empty) == 0
