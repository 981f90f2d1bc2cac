"""Pairwise judges: each candidate against the experiment's baseline, asked in both orders."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..engine import Engine
from ..lab import Lab
from ..stats import mean_ci
from ._calls import CALL_COLUMNS, JudgeCall, judge_request, run_with_retry
from ._kind import JudgeKind
from ._parse import parse_pairwise
from ._prompts import pairwise_prompt, task_of, with_reference

PAIRWISE_COLUMNS = [
    "experiment",
    "judge",
    "candidate",
    "baseline",
    "item_id",
    "candidate_first",
    "baseline_first",
    "outcome",
    "score",
    "consistent",
    "reason",
    *CALL_COLUMNS,
]


class PairwiseKind(JudgeKind):
    """``kind: pairwise``: no per-output score; :func:`pairwise_judgements` per experiment."""

    name = "pairwise"
    produces = "pairwise"


def pairwise_judgements(
    lab: Lab,
    name: str,
    experiment: str,
    outputs: dict[str, pd.DataFrame],
    records: list[dict[str, Any]],
    engine: Engine,
) -> pd.DataFrame:
    """Each candidate against the baseline, item by item, asked in both orders.

    ``outputs`` maps candidate labels to tables with ``item_id``, ``repeat``, ``output``. The
    outcome is the verdict both orders agree on; when they disagree (position bias), a tie.
    """
    judge = lab.judges[name]
    baseline = lab.baseline(experiment).label
    calls = _pairwise_calls(lab, name, baseline, outputs, records)

    def parse(reply: str) -> tuple[str, str]:
        return parse_pairwise(judge, reply)

    run_with_retry(engine, calls, parse, json_reply=judge.labels is None)
    by_key = {c.key: c for c in calls}
    rows = [
        _pair_row(experiment, name, baseline, call, by_key[(label, item_id, 1)])
        for (label, item_id, order), call in by_key.items()
        if order == 0
    ]
    return pd.DataFrame(rows, columns=PAIRWISE_COLUMNS)


def _pairwise_calls(
    lab: Lab,
    name: str,
    baseline: str,
    outputs: dict[str, pd.DataFrame],
    records: list[dict[str, Any]],
) -> list[JudgeCall]:
    """Two calls per candidate and item both it and the baseline answered (first repeat)."""
    judge = lab.judges[name]
    by_id = {str(r["id"]): r for r in records}
    base = outputs[baseline]
    base = base[base["repeat"] == 0].set_index("item_id")["output"]
    calls: list[JudgeCall] = []
    for label, frame in outputs.items():
        if label == baseline:
            continue
        for row in frame[frame["repeat"] == 0].itertuples(index=False):
            other = base.get(row.item_id)
            if row.output is None or other is None or pd.isna(row.output) or pd.isna(other):
                continue
            record = by_id.get(str(row.item_id), {})
            task, ref = task_of(record, getattr(row, "prompt", None)), with_reference(judge, record)
            for order, (first, second) in enumerate(((row.output, other), (other, row.output))):
                prompt = pairwise_prompt(
                    judge, task=task, first=str(first), second=str(second), reference=ref
                )
                item = f"{row.item_id}:{name}:{label}:{order}"
                key = (label, str(row.item_id), order)
                calls.append(JudgeCall(key, judge_request(lab, judge, item, 0, prompt)))
    return calls


def _pair_row(
    experiment: str, name: str, baseline: str, call: JudgeCall, swapped: JudgeCall
) -> dict[str, Any]:
    """One row of :data:`PAIRWISE_COLUMNS` from the candidate-first and baseline-first calls."""
    label, item_id, _ = call.key
    first = _outcome(call.verdict[0], candidate_is="A") if call.verdict else None
    second = _outcome(swapped.verdict[0], candidate_is="B") if swapped.verdict else None
    failure = call.failure or swapped.failure
    outcome = None if failure else (first if first == second else "tie")
    return {
        "experiment": experiment,
        "judge": name,
        "candidate": label,
        "baseline": baseline,
        "item_id": item_id,
        "candidate_first": first,
        "baseline_first": second,
        "outcome": outcome,
        "score": {"win": 1.0, "tie": 0.5, "loss": 0.0}.get(outcome or "", np.nan),
        "consistent": (first == second) if not failure else None,
        "reason": (call.verdict[1] if call.verdict else "") or "",
        "failure": failure,
        "error": call.error or swapped.error,
        "prompt_tokens": call.tokens[0] + swapped.tokens[0],
        "completion_tokens": call.tokens[1] + swapped.tokens[1],
        "cost_usd": call.tokens[2] + swapped.tokens[2],
    }


def _outcome(verdict: str, *, candidate_is: str) -> str:
    if verdict == "tie":
        return "tie"
    return "win" if verdict == candidate_is else "loss"


def pairwise_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per experiment x judge x candidate: wins, ties, losses, win rate with 95% CI, consistency."""
    rows = []
    for (experiment, judge, candidate), group in table.groupby(
        ["experiment", "judge", "candidate"], sort=False
    ):
        ok = group[group["failure"].isna()]
        values = ok["score"].to_numpy(float)
        mean, low, high = mean_ci(values) if len(values) else (np.nan, np.nan, np.nan)
        rows.append(
            {
                "experiment": experiment,
                "judge": judge,
                "candidate": candidate,
                "baseline": group["baseline"].iloc[0],
                "n": len(ok),
                "wins": int((ok["outcome"] == "win").sum()),
                "ties": int((ok["outcome"] == "tie").sum()),
                "losses": int((ok["outcome"] == "loss").sum()),
                "win_rate": mean,
                "ci_low": low,
                "ci_high": high,
                "position_consistency": float(ok["consistent"].astype(float).mean())
                if len(ok)
                else np.nan,
                "failures": int(group["failure"].notna().sum()),
            }
        )
    return pd.DataFrame(rows)
