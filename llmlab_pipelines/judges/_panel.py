"""Panels: rubric judges scoring the same dimensions, combined into one consensus score."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd

from ..lab import Lab
from ..lab._labels import HumanLabels
from ..stats._agreement import Level
from ._kind import JudgeKind, RaterGroup


class PanelKind(JudgeKind):
    """``kind: panel``: its members' calls; the mean (or majority) of their scores; the members
    as raters."""

    name = "panel"

    def callers(self, lab: Lab, name: str) -> list[str]:
        return list(lab.judges[name].members)

    def metric_columns(self, lab: Lab, name: str, wide: pd.DataFrame) -> dict[str, pd.Series]:
        panel = lab.judges[name]
        out: dict[str, pd.Series] = {}
        for dim, column in lab.judge_columns(name).items():
            members = [lab.judge_columns(m)[dim] for m in panel.members]
            values = wide.reindex(columns=members)
            if panel.consensus == "majority":
                majority = (values.round().mean(axis=1) > 0.5).astype(float)
                out[column] = majority.mask(values.isna().all(axis=1))
            else:
                out[column] = values.mean(axis=1)
        return out

    def rater_groups(
        self, lab: Lab, name: str, verdicts: pd.DataFrame, labels: HumanLabels | None
    ) -> Iterator[RaterGroup]:
        panel = lab.judges[name]
        level: Level = "nominal" if panel.labels else "ordinal"
        first = lab.judges[panel.members[0]]
        same_scale = len({lab.judges[m].bounds for m in panel.members}) == 1
        for dim in first.dimensions:
            d = verdicts[verdicts["judge"].isin(panel.members) & (verdicts["dimension"] == dim)]
            value = d["raw"] if same_scale else d["score"]
            ratings = (
                d.assign(rater=d["judge"], value=value)
                .groupby(["unit", "rater"], as_index=False)["value"]
                .mean()
            )
            yield RaterGroup(
                name,
                dim,
                ratings,
                level if same_scale else "interval",
                panel.agreement_floor,
                ", ".join(panel.members),
            )
