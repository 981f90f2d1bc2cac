"""Rubric (pointwise) judges: every output scored on each dimension, alone."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from ..engine import Engine
from ..lab import Lab
from ..lab._judges import JudgeConfig
from ..lab._labels import HumanLabels
from ..stats._agreement import Level
from ._calls import CALL_COLUMNS, EngineFactory, JudgeCall, judge_request, run_with_retry
from ._kind import JudgeKind, RaterGroup
from ._parse import parse_rubric
from ._prompts import rubric_prompt, task_of, with_reference

JUDGE_COLUMNS = [
    "item_id",
    "repeat",
    "judge",
    "judge_repeat",
    "dimension",
    "column",
    "raw",
    "score",
    "reason",
    *CALL_COLUMNS,
    "cached",
]


def judge_outputs(
    lab: Lab,
    judge_names: list[str],
    generations: pd.DataFrame,
    records: list[dict[str, Any]],
    engine_for: EngineFactory,
) -> pd.DataFrame:
    """Every rubric judge's verdicts on every output: one row per verdict and dimension."""
    by_id = {str(r["id"]): r for r in records}
    rows: list[dict[str, Any]] = []
    for name in judge_names:
        judge = lab.judges[name]
        groups = _dimension_groups(judge)
        calls = _rubric_calls(lab, name, groups, generations, by_id)
        if not calls:
            continue
        for dims in groups:
            _run_group(engine_for(name), judge, dims, [c for c in calls if c.key[3] == dims])
        rows.extend(_verdict_rows(judge, name, calls))
    return pd.DataFrame(rows, columns=JUDGE_COLUMNS)


def _dimension_groups(judge: JudgeConfig) -> list[tuple[str, ...]]:
    """The dimensions asked together: all in one JSON call, or one call each."""
    if judge.labels or not judge.combine:
        return [(d,) for d in judge.dimensions]
    return [tuple(judge.dimensions)]


def _run_group(
    engine: Engine, judge: JudgeConfig, dims: tuple[str, ...], calls: list[JudgeCall]
) -> None:
    """Run one dimension group's calls, parsing the replies for those dimensions."""

    def parse(reply: str) -> dict[str, tuple[float, str]]:
        return parse_rubric(judge, list(dims), reply)

    run_with_retry(engine, calls, parse, json_reply=not judge.labels)


def _rubric_calls(
    lab: Lab,
    name: str,
    groups: list[tuple[str, ...]],
    generations: pd.DataFrame,
    by_id: dict[str, dict[str, Any]],
) -> list[JudgeCall]:
    """One call per output, judge repeat and dimension group; failed generations skipped."""
    judge = lab.judges[name]
    template = lab.judge_templates.get(name)
    calls: list[JudgeCall] = []
    for row in generations.itertuples(index=False):
        if row.output is None or (isinstance(row.output, float) and np.isnan(row.output)):
            continue  # nothing to judge: the generation failed (scored 0 downstream)
        record = by_id.get(str(row.item_id), {})
        task = task_of(record, getattr(row, "prompt", None))
        reference = with_reference(judge, record)
        for r in range(judge.repeats):
            for dims in groups:
                prompt = rubric_prompt(
                    judge,
                    list(dims),
                    task=task,
                    output=str(row.output),
                    reference=reference,
                    template=template,
                    record=record,
                )
                key = (str(row.item_id), int(row.repeat), r, dims)
                item = f"{row.item_id}#{row.repeat}:{name}:{'+'.join(dims)}"
                calls.append(JudgeCall(key, judge_request(lab, judge, item, r, prompt)))
    return calls


def _verdict_rows(
    judge: JudgeConfig, name: str, calls: list[JudgeCall]
) -> Iterator[dict[str, Any]]:
    """Rows of :data:`JUDGE_COLUMNS`: one per call and dimension, the call's cost on the first."""
    columns = judge.columns(name)
    lo, hi = judge.bounds
    for call in calls:
        item_id, repeat, r, dims = call.key
        for n, dim in enumerate(dims):
            raw, reason = call.verdict[dim] if call.verdict else (np.nan, "")
            tokens = call.tokens if n == 0 else (0, 0, 0.0)  # a call's cost, counted once
            yield {
                "item_id": item_id,
                "repeat": repeat,
                "judge": name,
                "judge_repeat": r,
                "dimension": dim,
                "column": columns[dim],
                "raw": raw,
                "score": (raw - lo) / (hi - lo) if call.verdict else np.nan,
                "reason": reason,
                "failure": call.failure,
                "error": call.error,
                "prompt_tokens": tokens[0],
                "completion_tokens": tokens[1],
                "cost_usd": tokens[2],
                "cached": call.cached,
            }


class RubricKind(JudgeKind):
    """``kind: rubric``: its own calls; a column per dimension; repeats and humans as raters."""

    name = "rubric"

    def callers(self, lab: Lab, name: str) -> list[str]:
        return [name]

    def metric_columns(self, lab: Lab, name: str, wide: pd.DataFrame) -> dict[str, pd.Series]:
        return {column: wide.get(column, np.nan) for column in lab.judge_columns(name).values()}

    def rater_groups(
        self, lab: Lab, name: str, verdicts: pd.DataFrame, labels: HumanLabels | None
    ) -> Iterator[RaterGroup]:
        judge = lab.judges[name]
        level: Level = "nominal" if judge.labels else "ordinal"
        own = verdicts[verdicts["judge"] == name]
        for dim in judge.dimensions:
            d = own[own["dimension"] == dim]
            if judge.repeats > 1:
                yield RaterGroup(
                    name,
                    dim,
                    d.assign(rater=d["judge_repeat"].astype(str), value=d["raw"]),
                    level,
                    judge.agreement_floor,
                    f"{judge.repeats} repeats of {name}",
                )
            column = judge.columns(name)[dim]
            if labels is not None and column in labels.columns() and "output" in d:
                ratings = versus_humans(name, d, labels.for_column(column))
                raters = f"{name} vs humans ({labels.display})"
                yield RaterGroup(
                    name, dim, ratings, level, judge.agreement_floor, raters, humans=True
                )


def versus_humans(
    name: str, verdicts: pd.DataFrame, humans: dict[tuple[str, str], float]
) -> pd.DataFrame:
    """The judge's mean verdict per output and the human verdict on that output's text, as two
    raters (``unit, rater, value``). Only outputs whose text a person labelled for that item
    (surrounding whitespace aside) get a human rating."""
    mean = verdicts.groupby(["unit", "item_id", "output"], as_index=False)["raw"].mean()
    people = [
        {"unit": u, "rater": "human", "value": humans[key]}
        for u, i, o in zip(mean["unit"], mean["item_id"], mean["output"], strict=True)
        if (key := (str(i), str(o).strip())) in humans
    ]
    own = mean.assign(rater=name, value=mean["raw"])[["unit", "rater", "value"]]
    return pd.concat([own, pd.DataFrame(people, columns=["unit", "rater", "value"])])
