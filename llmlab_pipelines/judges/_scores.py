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
