"""Judge kinds come from one registry: the lab format, the scores and the agreement use it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args

import numpy as np
import pandas as pd
import pytest

from llmlab_pipelines.judges import (
    JUDGE_COLUMNS,
    KINDS,
    JudgeKind,
    agreement_table,
    judge_callers,
    judge_metric_columns,
    judge_reason_columns,
    judges_producing,
)
from llmlab_pipelines.lab import Lab, load_lab
from llmlab_pipelines.lab._judges import JUDGE_KINDS, JudgeConfig

FILES = {
    "models.yaml": "m:\n  model: openai/x\n",
    "prompts/p.jinja": "{{ question }}",
    "datasets/d.jsonl": '{"id": "1", "question": "q", "expected": "a"}\n',
    "judges/r1.yaml": "model: m\nrepeats: 2\n",
    "judges/r2.yaml": "model: m\n",
    "judges/panel.yaml": "kind: panel\nmembers: [r1, r2]\nconsensus: majority\n",
    "judges/pw.yaml": "kind: pairwise\nmodel: m\n",
    "experiments/e.yaml": "dataset: d\nprompts: [p]\nmodels: [m]\nmetrics: [exact_match]\n"
    "judges: [panel, pw, r1]\n",
}


@pytest.fixture
def lab(write_lab: Any) -> Lab:
    return load_lab(write_lab(FILES))


def verdicts(rows: list[tuple[str, str, int, float]]) -> pd.DataFrame:
    """Rubric verdict rows ``(judge, item_id, judge_repeat, raw)`` on a 1..5 scale."""
    return pd.DataFrame(
        [
            {
                "item_id": item, "repeat": 0, "judge": judge, "judge_repeat": r,
                "dimension": "correctness", "column": judge, "raw": raw,
                "score": (raw - 1) / 4, "candidate": "c",
            }
            for judge, item, r, raw in rows
        ],
        columns=[*JUDGE_COLUMNS, "candidate"],
    )  # fmt: skip


def test_every_kind_of_the_lab_format_is_registered_once() -> None:
    names = set(get_args(JudgeConfig.model_fields["kind"].annotation))
    assert set(KINDS) == set(JUDGE_KINDS) == names == {"rubric", "pairwise", "panel"}
    assert all(kind.name == name for name, kind in KINDS.items())


def test_the_lab_format_checks_each_kind_by_its_rules() -> None:
    with pytest.raises(ValueError, match="a pairwise judge needs `model:`"):
        JudgeConfig(kind="pairwise")
    with pytest.raises(ValueError, match="a panel needs at least 2 `members:`"):
        JudgeConfig(kind="panel", members=["a"])
    assert JudgeConfig(kind="pairwise", model="m").columns("pw") == {}
    assert JudgeConfig(model="m").columns("r") == {"correctness": "r"}


def test_kinds_say_who_calls_and_what_they_produce(lab: Lab) -> None:
    names = lab.experiment("e").judges
    assert judge_callers(lab, names) == ["r1", "r2"]  # the panel's members, then r1 once
    assert judges_producing(lab, names, "scores") == ["panel", "r1"]
    assert judges_producing(lab, names, "pairwise") == ["pw"]


def test_scores_come_from_each_judge_kind(lab: Lab) -> None:
    table = verdicts([("r1", "1", 0, 5.0), ("r1", "1", 1, 4.0), ("r2", "1", 0, 1.0)])
    wide = judge_metric_columns(lab, ["panel", "r1", "pw"], table)
    assert list(wide.columns) == ["item_id", "repeat", "panel", "r1"]
    assert wide["r1"].iloc[0] == pytest.approx(0.875)
    assert wide["panel"].iloc[0] == 0.0  # majority of (1.0 -> 1, 0.0 -> 0) is not > 0.5


def test_a_registered_kind_is_what_runs(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    class Constant(JudgeKind):
        name = "rubric"

        def metric_columns(self, lab: Lab, name: str, wide: pd.DataFrame) -> dict[str, Any]:
            return {f"{name}.constant": pd.Series(0.25, index=wide.index)}

    monkeypatch.setitem(KINDS, "rubric", Constant())
    wide = judge_metric_columns(lab, ["r1"], verdicts([("r1", "1", 0, 5.0)]))
    assert list(wide["r1.constant"]) == [0.25]
    assert agreement_table(lab, ["r1"], verdicts([("r1", "1", 0, 5.0)])).empty


def test_agreement_groups_come_from_each_judge_kind(lab: Lab, tmp_path: Path) -> None:
    rows = [
        (judge, str(i), r, float(1 + (i + (judge == "r2")) % 5))
        for i in range(12)
        for judge, r in (("r1", 0), ("r1", 1), ("r2", 0))
    ]
    table = agreement_table(lab, ["panel", "r1", "pw"], verdicts(rows))
    assert list(table["group"]) == ["panel", "r1"]
    assert list(table["raters"]) == ["r1, r2", "2 repeats of r1"]
    assert table["krippendorff_alpha"].iloc[1] == pytest.approx(1.0)
    assert not np.isnan(table["krippendorff_alpha"].iloc[0])


def test_reasons_become_a_column_per_rubric_judge(lab: Lab) -> None:
    table = verdicts([("r1", "1", 1, 4.0), ("r1", "1", 0, 5.0), ("r1", "2", 0, 3.0)])
    table["reason"] = ["mostly right", "exactly right", ""]
    table["failure"] = [None, None, "parse"]
    table["error"] = [None, None, "expected one of ..."]
    wide = judge_reason_columns(lab, ["panel", "r1", "pw"], table).set_index("item_id")
    assert list(wide.columns) == ["repeat", "r1_reason"]  # a panel makes no calls: no reason
    assert wide.loc["1", "r1_reason"] == "exactly right | mostly right"  # by judge repeat
    assert wide.loc["2", "r1_reason"] == "no verdict (parse: expected one of ...)"
