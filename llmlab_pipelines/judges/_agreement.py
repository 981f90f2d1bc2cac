"""How far judges can be trusted: agreement among the raters each judge kind names."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..lab import Lab
from ..stats import StatsError, agreement
from ._kind import RaterGroup
from ._kinds import judges_producing, kind_of
from ._rubric import JUDGE_COLUMNS


def dataset_agreement(
    lab: Lab, dataset: str, verdicts: dict[str, pd.DataFrame], records: list[dict[str, Any]]
) -> pd.DataFrame:
    """:func:`agreement_table` for the judges of every experiment on ``dataset``.

    Args:
        lab: The lab.
        dataset: The dataset.
        verdicts: ``candidate key -> its judge_scores table`` on this dataset.
        records: The dataset's records (human ratings, when it has them).
    """
    names: dict[str, None] = {}
    for experiment in lab.experiments_for(dataset):
        names.update(dict.fromkeys(lab.experiment(experiment).judges))
    table = (
        pd.concat([f.assign(candidate=k) for k, f in verdicts.items()], ignore_index=True)
        if verdicts
        else pd.DataFrame(columns=[*JUDGE_COLUMNS, "candidate"])
    )
    return agreement_table(lab, judges_producing(lab, names, "scores"), table, records)


def agreement_table(
    lab: Lab, names: list[str], verdicts: pd.DataFrame, records: list[dict[str, Any]]
) -> pd.DataFrame:
    """Krippendorff's alpha (and Cohen's kappa for two raters) per judge group and dimension.

    Raters are a judge's repeats (self-consistency), a panel's members, and — when the dataset
    has a ``human_<column>`` (or ``human_<dimension>``) field — each judge against the humans.
    Items are outputs: ``candidate, item, repeat``.
    """
    if verdicts.empty:
        return pd.DataFrame([])
    v = verdicts.dropna(subset=["raw"]).assign(
        unit=lambda f: (
            f["candidate"].astype(str)
            + "|"
            + f["item_id"].astype(str)
            + "|"
            + f["repeat"].astype(str)
        )
    )
    rows = [
        row
        for name in names
        for group in kind_of(lab, name).rater_groups(lab, name, v, records)
        if (row := _agreement_row(group)) is not None
    ]
    return pd.DataFrame(rows)


def _agreement_row(group: RaterGroup) -> dict[str, Any] | None:
    """The agreement table's row for one group of raters; None when it can't be measured."""
    try:
        result = agreement(
            group.ratings, item="unit", rater="rater", value="value", level=group.level
        )
    except StatsError:
        return None
    alpha = float(result["krippendorff_alpha"])
    return {
        "group": group.group,
        "dimension": group.dimension,
        "raters": group.raters,
        "n_items": int(result["n_items"]),
        "krippendorff_alpha": alpha,
        "cohen_kappa": float(result.get("cohen_kappa", np.nan)),
        "floor": group.floor,
        "below_floor": bool(alpha < group.floor) if not np.isnan(alpha) else False,
    }
