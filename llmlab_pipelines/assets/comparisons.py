"""comparisons: every candidate against its experiment's baseline, paired on items."""

# No `from __future__ import annotations`: Dagster reads the context annotation at runtime.

import dagster as dg
import pandas as pd

from ..partitions import by_dataset, dataset_partitions
from ..report import MissingScoresError, experiment_scores, markdown_table, tables_by_candidate
from ..resources import LabResource
from ..stats import StatsError, compare
from ._automation import ANALYSIS_CONDITION

COLUMNS = [
    "experiment",
    "metric",
    "candidate_a",
    "candidate_b",
    "n",
    "mean_a",
    "mean_b",
    "diff",
    "ci_low",
    "ci_high",
    "test",
    "p_value",
    "p_adjusted",
    "effect_size",
    "significant",
]


@dg.asset(
    partitions_def=dataset_partitions,
    ins={
        "scores": dg.AssetIn(
            partition_mapping=by_dataset, metadata={"allow_missing_partitions": True}
        )
    },
    group_name="analysis",
    kinds={"scipy", "parquet"},
    io_manager_key="parquet_io_manager",
    automation_condition=ANALYSIS_CONDITION,
)
def comparisons(
    context: dg.AssetExecutionContext, scores: dict[str, pd.DataFrame], lab: LabResource
) -> dg.Output[pd.DataFrame]:
    """Paired comparisons with 95% bootstrap CIs, the test suited to the metric, Holm-corrected."""
    the_lab = lab.load()
    dataset = context.partition_key
    tables = tables_by_candidate(scores, set(the_lab.all_candidates()))
    frames = []
    for name in the_lab.experiments_for(dataset):
        config = the_lab.experiment(name)
        try:
            long = experiment_scores(the_lab, name, tables, dataset)
        except MissingScoresError as exc:
            context.log.warning(f"skipped: {exc}")
            continue
        try:
            for metric in config.metrics:
                result = compare(
                    long, metric=metric, baseline=the_lab.baseline(name).label, alpha=config.alpha
                )
                frames.append(result.assign(experiment=name, metric=metric))
        except StatsError as exc:
            raise dg.Failure(description=f"experiment {name!r} on {dataset!r}: {exc}") from None
    if not frames:
        raise dg.Failure(description=f"dataset {dataset!r}: no experiment has all its scores yet")
    frame = (
        pd.concat(frames, ignore_index=True)[COLUMNS] if frames else pd.DataFrame(columns=COLUMNS)
    )
    return dg.Output(
        frame,
        metadata={
            "dagster/row_count": len(frame),
            "significant": int(frame["significant"].sum()) if len(frame) else 0,
            "table": dg.MetadataValue.md(markdown_table(frame.drop(columns=["test"]))),
        },
    )
