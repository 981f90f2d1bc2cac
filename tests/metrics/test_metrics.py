"""Deterministic metrics and scoring a generations table."""

from __future__ import annotations

import pandas as pd
import pytest

from llmlab_pipelines.metrics import (
    METRICS,
    MetricError,
    contains,
    exact_match,
    first_number,
    normalize,
    numeric_match,
    score_frame,
)


@pytest.mark.parametrize(
    ("output", "expected", "score"),
    [
        ("Paris", "paris", 1.0),
        (" The Paris. ", "Paris", 1.0),
        ("Paris, France", "Paris", 0.0),
        ("", "Paris", 0.0),
    ],
)
def test_exact_match_normalizes(output: str, expected: str, score: float) -> None:
    assert exact_match(output, expected, {}) == score


@pytest.mark.parametrize(
    ("output", "expected", "score"),
    [
        (" 7", "7", 1.0),
        ("7.0 apples", "7", 1.0),
        ("-3", "-3", 1.0),
        ("1,234", "1234", 1.0),
        ("8", "7", 0.0),
        ("seven", "7", 0.0),
        ("= 12 - 5 = 7", "7", 0.0),
    ],
)
def test_numeric_match_reads_the_first_number(output: str, expected: str, score: float) -> None:
    assert numeric_match(output, expected, {}) == score


def test_helpers() -> None:
    assert normalize("  The  Quick, Brown fox! ") == "quick brown fox"
    assert first_number("x = -2.5e1 then 3") == -25.0
    assert first_number("none") is None
    assert contains("It is Paris, France.", "paris", {}) == 1.0


def test_score_frame_scores_errors_as_zero() -> None:
    generations = pd.DataFrame({"item_id": ["a", "b", "c"], "output": ["4", None, "5"]})
    records = [
        {"id": "a", "expected": "4"},
        {"id": "b", "expected": "1"},
        {"id": "c", "expected": "6"},
    ]
    out = score_frame(generations, records, ["numeric_match", "exact_match"])
    assert out["numeric_match"].tolist() == [1.0, 0.0, 0.0]
    assert out["expected"].tolist() == ["4", "1", "6"]


def test_a_raising_metric_names_itself_and_the_item(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(output: str, expected: object, record: dict[str, object]) -> float:
        raise ZeroDivisionError("boom")

    monkeypatch.setitem(METRICS, "broken", METRICS["exact_match"].__class__("broken", broken))
    generations = pd.DataFrame({"item_id": ["a"], "output": ["x"]})
    with pytest.raises(MetricError, match="metric 'broken' raised on item 'a': ZeroDivisionError"):
        score_frame(generations, [{"id": "a", "expected": "x"}], ["broken"])


@pytest.mark.parametrize(
    ("output", "expected", "score"),
    [
        ("-$5", "-5", 1.0),  # the sign before a currency sign
        ("\u22127", "-7", 1.0),  # a Unicode minus
        ("$5", "-5", 0.0),
        ("3-4", "3", 1.0),  # a range's hyphen is no sign
        ("1,234 apples", "1234", 1.0),
    ],
)
def test_plain_numeric_match_reads_signs_as_people_write_them(
    output: str, expected: str, score: float
) -> None:
    assert numeric_match(output, expected, {}) == score
