"""comparisons: all pairs of each experiment's candidates (baseline first), paired on items."""

# No `from __future__ import annotations`: Dagster reads the context annotation at runtime.

import dagster as dg
import pandas as pd

from ..lab import Lab
from ..partitions import dataset_partitions, of_dataset, tables_by_candidate
from ..report import MissingScoresError, experiment_scores, markdown_table
from ..resources import LabResource
from ..stats import COMPARISON_COLUMNS, StatsError, compare

COLUMNS = ["experiment", "metric", *COMPARISON_COLUMNS]


@dg.asset(
    partitions_def=dataset_partitions,
    ins={"scores": of_dataset("scores")},
    group_name="analysis",
    kinds={"scipy", "parquet"},
    io_manager_key="parquet_io_manager",
)
def comparisons(
    context: dg.AssetExecutionContext, scores: dict[str, pd.DataFrame], lab: LabResource
) -> dg.Output[pd.DataFrame]:
    """All pairs of each experiment's candidates (baseline first), paired on the items both
    answered: the test suited to the metric, Holm over all K(K-1)/2 pairs, simultaneous
    intervals at the Bonferroni level. A pair with fewer than 2 items both scored gets a row of
    NaN with a ``note`` (counted in ``skipped_pairs``) instead of failing the dataset. The
    leaderboard's verdicts and tiers read these rows."""
    the_lab = lab.load()
    dataset = context.partition_key
    tables = tables_by_candidate(scores, set(the_lab.all_candidates()))
    frames, compared, failed = [], 0, []
    for name in the_lab.experiments_for(dataset):
        try:
            frames += experiment_comparisons(the_lab, name, tables, dataset)
            compared += 1
        except MissingScoresError as exc:
            context.log.warning(f"skipped: {exc}")
        except StatsError as exc:  # this experiment only: the others on the dataset go on
            failed.append(f"experiment {name!r} on {dataset!r}: {exc}")
            context.log.error(failed[-1])
    if not compared:
        why = "; ".join(failed) or f"dataset {dataset!r}: no experiment has all its scores yet"
        raise dg.Failure(description=why)
    frame = (
        pd.concat(frames, ignore_index=True)[COLUMNS] if frames else pd.DataFrame(columns=COLUMNS)
    )
    skipped = frame[frame["note"] != ""]
    for row in skipped.itertuples(index=False):
        context.log.warning(f"experiment {row.experiment!r}, metric {row.metric!r}: {row.note}")
    return dg.Output(
        frame,
        metadata={
            "dagster/row_count": len(frame),
            "significant": int(frame["significant"].sum()),
            "skipped_pairs": len(skipped),
            "failed_experiments": len(failed),
            "table": dg.MetadataValue.md(markdown_table(frame.drop(columns=["test"]))),
        },
    )


def experiment_comparisons(
    the_lab: Lab, name: str, tables: dict[str, pd.DataFrame], dataset: str
) -> list[pd.DataFrame]:
    """One experiment's comparisons, one frame per metric; none for a single candidate (its
    leaderboard shows means and intervals only).

    Raises:
        MissingScoresError: a candidate's scores are not there yet.
        StatsError: the statistics can't compare these scores.
    """
    config = the_lab.experiment(name)
    long = experiment_scores(the_lab, name, tables, dataset)
    if len(the_lab.candidates(name)) < 2:
        return []
    baseline = the_lab.baseline(name).label
    return [
        compare(
            long, metric=metric, baseline=baseline, family="all_pairs", alpha=config.alpha
        ).assign(experiment=name, metric=metric)
        for metric in config.metrics
    ]
