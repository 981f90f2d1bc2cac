"""leaderboard: ranked candidates with error bars, a report file, and MLflow runs."""

# No `from __future__ import annotations`: Dagster reads the context annotation at runtime.

from collections.abc import Iterator

import dagster as dg
import pandas as pd

from ..partitions import by_dataset, dataset_partitions
from ..report import (
    MissingScoresError,
    build_leaderboard,
    experiment_scores,
    tables_by_candidate,
)
from ..resources import ArtifactStore, LabResource, MLflowTracking
from ._report import ExperimentReport, log_to_mlflow


@dg.asset(
    partitions_def=dataset_partitions,
    ins={
        "comparisons": dg.AssetIn(),
        "scores": dg.AssetIn(
            partition_mapping=by_dataset, metadata={"allow_missing_partitions": True}
        ),
    },
    group_name="analysis",
    kinds={"mlflow", "parquet"},
    io_manager_key="parquet_io_manager",
)
def leaderboard(
    context: dg.AssetExecutionContext,
    comparisons: pd.DataFrame,
    scores: dict[str, pd.DataFrame],
    lab: LabResource,
    artifacts: ArtifactStore,
    tracking: MLflowTracking,
) -> Iterator[dg.Output[pd.DataFrame]]:
    """Per experiment on this dataset: means with 95% CIs, differences from the baseline."""
    the_lab = lab.load()
    dataset = context.partition_key
    tables = tables_by_candidate(scores, set(the_lab.all_candidates()))
    boards, metadata = [], {}
    for name in the_lab.experiments_for(dataset):
        config, baseline = the_lab.experiment(name), the_lab.baseline(name).label
        try:
            long = experiment_scores(the_lab, name, tables, dataset)
        except MissingScoresError as exc:
            context.log.warning(f"skipped: {exc}")
            continue
        rows = comparisons[
            (comparisons["experiment"] == name) & (comparisons["metric"] == config.metric)
        ]
        board = build_leaderboard(
            long, rows, metric=config.metric, baseline=baseline, alpha=config.alpha
        )
        report = ExperimentReport(name, dataset, config, baseline, board, long, comparisons)
        path = artifacts.write(
            report.markdown(with_plot_file="leaderboard.png"), "reports", name, "report.md"
        )
        artifacts.write(report.plot(), "reports", name, "leaderboard.png")
        artifacts.write(report.forest(), "reports", name, "forest.png")
        runs = log_to_mlflow(tracking, the_lab, report, context.run.run_id)
        boards.append(board.assign(experiment=name, metric=config.metric))
        metadata[f"{name}"] = dg.MetadataValue.md(report.markdown(inline_plot=True))
        metadata[f"{name}_report"] = dg.MetadataValue.path(str(path))
        metadata[f"{name}_mlflow_runs"] = len(runs)
    frame = pd.concat(boards, ignore_index=True) if boards else pd.DataFrame()
    yield dg.Output(frame, metadata={"dagster/row_count": len(frame), **metadata})
