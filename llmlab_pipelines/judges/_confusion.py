"""A judge read against the rest of the evidence: human labels and deterministic metrics."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..lab import Lab
from ..lab._labels import HumanLabels
from ._agreement import AGREEMENT_COLUMNS, agreement_row, agreement_table, judged_outputs
from ._kind import RaterGroup
from ._kinds import judges_producing

#: :func:`judge_vs_metrics`' columns: counts of outputs by judge verdict x metric score.
CONFUSION_COLUMNS = [
    "judge",
    "metric",
    "n",
    "yes_1",
    "yes_0",
    "no_1",
    "no_0",
    "no_verdict",
    "agreement",
]


def judge_vs_metrics(
    lab: Lab, names: list[str], judged: pd.DataFrame, metrics: list[str]
) -> pd.DataFrame:
    """For each two-label judge column and each 0/1 metric: how many outputs fall in each cell.

    Args:
        lab: The lab.
        names: Judges whose columns are compared (two-label rubric judges only).
        judged: :func:`judged_outputs` of ``judge_scores`` and ``scores``: verdict rows with
            the metric columns of the output they judge.
        metrics: 0/1 deterministic metric columns of ``judged``.

    Returns:
        One row per judge column and metric: ``n`` outputs with a metric score (failed
        generations have none), ``yes_1`` (the judge said its best label, the metric 1),
        ``yes_0``, ``no_1``, ``no_0``, ``no_verdict`` (no reply could be parsed) and
        ``agreement``, the share of outputs with a verdict where both say the same.
    """
    rows = []
    for name in names:
        judge = lab.judges.get(name)
        if judge is None or not judge.binary or not judge.rules.member:
            continue
        for column in judge.columns(name).values():
            own = judged[judged["column"] == column]
            per_output = own.groupby(["candidate", "item_id", "repeat"]).agg(
                verdict=("score", "mean"), **{m: (m, "first") for m in metrics if m in own}
            )
            for metric in [m for m in metrics if m in per_output]:
                rows.append(_cells(column, metric, per_output))
    return pd.DataFrame(rows, columns=CONFUSION_COLUMNS)


def _cells(column: str, metric: str, per_output: pd.DataFrame) -> dict[str, Any]:
    scored = per_output[per_output[metric].notna()]
    yes, said = scored["verdict"] >= 0.5, scored["verdict"].notna()
    one = scored[metric] >= 0.5
    cells = {
        "yes_1": int((said & yes & one).sum()),
        "yes_0": int((said & yes & ~one).sum()),
        "no_1": int((said & ~yes & one).sum()),
        "no_0": int((said & ~yes & ~one).sum()),
    }
    with_verdict = int(said.sum())
    agree = (cells["yes_1"] + cells["no_0"]) / with_verdict if with_verdict else np.nan
    return {
        "judge": column,
        "metric": metric,
        "n": len(scored),
        **cells,
        "no_verdict": int((~said).sum()),
        "agreement": agree,
    }


def experiment_judges(
    lab: Lab,
    experiment: str,
    verdicts: dict[str, pd.DataFrame],
    scores: dict[str, pd.DataFrame],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What the report says of an experiment's judges, on its candidates' outputs only.

    Args:
        lab: The lab.
        experiment: The experiment.
        verdicts: ``candidate key -> judge_scores`` (other candidates are ignored).
        scores: ``candidate key -> scores`` (the outputs and the metric columns).

    Returns:
        The agreement of each judge with human labels (:func:`agreement_table`'s rows with
        ``humans``), then of each 0/1 metric with them (:func:`metrics_vs_humans`), and
        :func:`judge_vs_metrics` against the experiment's 0/1 deterministic metrics.
    """
    config = lab.experiment(experiment)
    names = judges_producing(lab, config.judges, "scores")
    keys = [c.key for c in lab.candidates(experiment) if c.key in verdicts and c.key in scores]
    judged = judged_outputs({k: verdicts[k] for k in keys}, {k: scores[k] for k in keys})
    labels = lab.human_labels.get(config.dataset)
    table = agreement_table(lab, names, judged, labels)
    humans = table[table["humans"].astype(bool)] if len(table) else table
    judge_cols = {c for n in names for c in lab.judge_columns(n).values()}
    binary = [
        m
        for m, is_binary in lab.experiment_metrics(experiment).items()
        if is_binary and m in config.metrics and m not in judge_cols
    ]
    metric_values = pd.concat(
        [scores[k][["item_id", "repeat", "output", *binary]].assign(candidate=k) for k in keys]
        or [pd.DataFrame(columns=["item_id", "repeat", "output", "candidate", *binary])],
        ignore_index=True,
    ).astype({"item_id": str, "repeat": int})
    merged = judged.merge(
        metric_values.drop(columns="output"), on=["candidate", "item_id", "repeat"], how="left"
    )
    baselines = metrics_vs_humans(lab, names, metric_values, labels, binary)
    people = pd.concat([humans, baselines], ignore_index=True) if len(baselines) else humans
    return people.reset_index(drop=True), judge_vs_metrics(lab, names, merged, binary)


def metrics_vs_humans(
    lab: Lab,
    names: list[str],
    outputs: pd.DataFrame,
    labels: HumanLabels | None,
    metrics: list[str],
) -> pd.DataFrame:
    """The 0/1 metrics as raters against the human labels of each two-label judge column: how
    well a free deterministic check would have done (rows like :func:`agreement_table`'s, the
    metric as ``group``, the judge column as ``dimension``, no floor)."""
    rows: list[dict[str, Any]] = []
    if labels is None or not len(outputs):
        return pd.DataFrame(rows, columns=AGREEMENT_COLUMNS)
    unit = outputs["candidate"] + "|" + outputs["item_id"] + "|" + outputs["repeat"].astype(str)
    for name in names:
        judge = lab.judges.get(name)
        if judge is None or not judge.binary or not judge.rules.member:
            continue
        lo, hi = judge.bounds
        for column in [c for c in judge.columns(name).values() if c in labels.columns()]:
            humans = labels.for_column(column)
            said = [
                humans.get((i, str(o).strip()))
                for i, o in zip(outputs["item_id"], outputs["output"], strict=True)
            ]
            person = pd.Series([np.nan if v is None else (v - lo) / (hi - lo) for v in said])
            for metric in metrics:
                ratings = pd.concat(
                    [
                        pd.DataFrame({"unit": unit, "rater": metric, "value": outputs[metric]}),
                        pd.DataFrame({"unit": unit, "rater": "human", "value": person}),
                    ]
                ).dropna(subset=["value"])
                group = RaterGroup(
                    metric, column, ratings, "nominal", np.nan, f"{metric} vs humans", True
                )
                row = agreement_row(group, dict(zip(unit, outputs["item_id"], strict=True)))
                if row is not None:
                    rows.append({**row, "below_floor": False})
    return pd.DataFrame(rows, columns=AGREEMENT_COLUMNS)
