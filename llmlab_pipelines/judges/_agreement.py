"""How far judges can be trusted: agreement among the raters each judge kind names."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..lab import Lab
from ..lab._labels import HumanLabels
from ..stats import StatsError
from ..stats._agreement_ci import agreement_ci
from ._kind import RaterGroup
from ._kinds import judges_producing, kind_of
from ._rubric import JUDGE_COLUMNS

#: The agreement table's columns.
AGREEMENT_COLUMNS = [
    "group",
    "dimension",
    "raters",
    "humans",
    "n_items",
    "krippendorff_alpha",
    "alpha_low",
    "alpha_high",
    "cohen_kappa",
    "kappa_low",
    "kappa_high",
    "floor",
    "below_floor",
]


def judged_outputs(
    verdicts: dict[str, pd.DataFrame], outputs: dict[str, pd.DataFrame] | None = None
) -> pd.DataFrame:
    """Every candidate's verdicts in one table (``candidate`` = partition key) with, when
    ``outputs`` (``scores`` or ``generations`` tables by candidate) are given, the ``output``
    text each verdict is about."""
    if not verdicts:
        return pd.DataFrame(columns=[*JUDGE_COLUMNS, "candidate", "output"])
    table = pd.concat([f.assign(candidate=k) for k, f in verdicts.items()], ignore_index=True)
    if not outputs:
        return table
    texts = pd.concat(
        [f[["item_id", "repeat", "output"]].assign(candidate=k) for k, f in outputs.items()]
        or [pd.DataFrame(columns=["item_id", "repeat", "output", "candidate"])],
        ignore_index=True,
    )
    keys = ["candidate", "item_id", "repeat"]
    texts = texts.astype({"item_id": str, "repeat": int})
    return table.astype({"item_id": str, "repeat": int}).merge(texts, on=keys, how="left")


def dataset_agreement(
    lab: Lab,
    dataset: str,
    verdicts: dict[str, pd.DataFrame],
    outputs: dict[str, pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """:func:`agreement_table` for the judges of every experiment on ``dataset``.

    Args:
        lab: The lab.
        dataset: The dataset.
        verdicts: ``candidate key -> its judge_scores table`` on this dataset.
        outputs: ``candidate key -> its scores (or generations) table``: the output texts,
            which human labels (``labels/<dataset>.jsonl``) are matched on.
    """
    names: dict[str, None] = {}
    for experiment in lab.experiments_for(dataset):
        names.update(dict.fromkeys(lab.experiment(experiment).judges))
    table = judged_outputs(verdicts, outputs)
    labels = lab.human_labels.get(dataset)
    return agreement_table(lab, judges_producing(lab, names, "scores"), table, labels)


def agreement_table(
    lab: Lab, names: list[str], verdicts: pd.DataFrame, labels: HumanLabels | None = None
) -> pd.DataFrame:
    """Krippendorff's alpha (and Cohen's kappa for two raters) per judge group and dimension,
    each with a 95% percentile-bootstrap interval over dataset items.

    Raters are a judge's repeats (self-consistency), a panel's members, and — for outputs a
    person labelled (``labels``, matched on the item and the output's text) — each judge
    against the humans. Units are outputs: ``candidate, item, repeat``; ``n_items`` counts the
    units rated at least twice (what alpha reads).
    """
    if verdicts.empty:
        return pd.DataFrame([], columns=AGREEMENT_COLUMNS)
    v = verdicts.dropna(subset=["raw"]).assign(
        unit=lambda f: (
            f["candidate"].astype(str)
            + "|"
            + f["item_id"].astype(str)
            + "|"
            + f["repeat"].astype(str)
        )
    )
    items = dict(zip(v["unit"], v["item_id"].astype(str), strict=False))
    rows = [
        row
        for name in names
        for group in kind_of(lab, name).rater_groups(lab, name, v, labels)
        if (row := agreement_row(group, items)) is not None
    ]
    return pd.DataFrame(rows, columns=AGREEMENT_COLUMNS)


def agreement_row(group: RaterGroup, items: dict[str, str]) -> dict[str, Any] | None:
    """The agreement table's row for one group of raters; None when it can't be measured."""
    ratings = group.ratings.assign(cluster=group.ratings["unit"].map(items))
    try:
        result = agreement_ci(
            ratings,
            item="unit",
            rater="rater",
            value="value",
            level=group.level,
            cluster="cluster",
        )
    except StatsError:
        return None
    alpha = float(result["alpha"])
    return {
        "group": group.group,
        "dimension": group.dimension,
        "raters": group.raters,
        "humans": group.humans,
        "n_items": int(result["n"]),
        "krippendorff_alpha": alpha,
        "alpha_low": result["alpha_low"],
        "alpha_high": result["alpha_high"],
        "cohen_kappa": float(result.get("kappa", np.nan)),
        "kappa_low": float(result.get("kappa_low", np.nan)),
        "kappa_high": float(result.get("kappa_high", np.nan)),
        "floor": group.floor,
        "below_floor": bool(alpha < group.floor) if not np.isnan(alpha) else False,
    }


def unmeasured_judges(lab: Lab, dataset: str, table: pd.DataFrame) -> dict[str, str]:
    """``judge -> why its reliability on dataset could not be measured``: judges that score
    outputs on ``dataset`` with no row of ``table`` giving a defined alpha."""
    names: dict[str, None] = {}
    for experiment in lab.experiments_for(dataset):
        names.update(dict.fromkeys(lab.experiment(experiment).judges))
    measured = set(table.loc[table["krippendorff_alpha"].notna(), "group"]) if len(table) else set()
    for name in list(measured):  # a panel's agreement measures its members against each other
        measured.update(lab.judges[name].members if name in lab.judges else [])
    labels = lab.human_labels.get(dataset)
    out = {}
    for name in judges_producing(lab, names, "scores"):
        if name in measured:
            continue
        judge = lab.judges[name]
        columns = set(lab.judge_columns(name).values())
        if len(table) and name in set(table["group"]):
            why = "alpha is undefined: every rating is the same value"
        elif labels is not None and columns & set(labels.columns()):
            why = f"no output a person labelled in {labels.display} is among its verdicts"
        elif judge.rules.combines:
            why = "its members have no verdicts on the same outputs yet"
        else:
            why = (
                f"nothing to compare it with: one verdict per output (repeats: {judge.repeats}) "
                f"and no human labels (labels/{dataset}.jsonl)"
            )
        out[name] = why
    return out
