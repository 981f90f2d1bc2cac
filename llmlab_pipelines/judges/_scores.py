"""Judges' verdicts as metric columns of the scores table."""

from __future__ import annotations

import pandas as pd

from ..lab import Lab
from ._kinds import kind_of


def judge_metric_columns(lab: Lab, names: list[str], verdicts: pd.DataFrame) -> pd.DataFrame:
    """``(item_id, repeat)`` -> one column per judge/panel metric, in [0, 1].

    A rubric judge's column is its mean over repeats; a panel's is the mean (or majority) of its
    members. An output no verdict could be parsed for scores 0, like an output that failed.
    """
    wide = (
        verdicts.groupby(["item_id", "repeat", "column"])["score"].mean().unstack("column")
        if len(verdicts)
        else pd.DataFrame(index=pd.MultiIndex.from_tuples([], names=["item_id", "repeat"]))
    )
    out = pd.DataFrame(index=wide.index)
    for name in names:
        for column, values in kind_of(lab, name).metric_columns(lab, name, wide).items():
            out[column] = values
    return out.fillna(0.0).reset_index()


def judge_reason_columns(lab: Lab, names: list[str], verdicts: pd.DataFrame) -> pd.DataFrame:
    """``(item_id, repeat)`` -> ``<column>_reason`` for each rubric judge column: the judge's
    reason (its repeats' reasons joined with `` | ``), or ``no verdict (<failure>: <error>)``.

    Panels make no calls and so give no reason.
    """
    columns = {c for n in names for c in lab.judges[n].columns(n).values()}
    own = verdicts[verdicts["column"].isin(columns)] if len(verdicts) else verdicts
    if not len(own):
        return pd.DataFrame(columns=["item_id", "repeat"])
    text = [
        str(reason) if pd.isna(failure) else f"no verdict ({failure}: {error})"
        for reason, failure, error in zip(own["reason"], own["failure"], own["error"], strict=True)
    ]
    wide = (
        own.assign(text=text)
        .sort_values("judge_repeat")
        .groupby(["item_id", "repeat", "column"])["text"]
        .agg(" | ".join)
        .unstack("column")
    )
    return wide.rename(columns=lambda c: f"{c}_reason").reset_index().rename_axis(columns=None)
