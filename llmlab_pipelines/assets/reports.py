"""leaderboard: ranked candidates with error bars, a report file, and MLflow runs."""

# No `from __future__ import annotations`: Dagster reads the context annotation at runtime.

from collections.abc import Iterator

import dagster as dg
import pandas as pd

from ..partitions import dataset_partitions, of_dataset, tables_by_candidate
from ..report import (
    GATE_COLUMNS,
    MissingScoresError,
    build_leaderboard,
    experiment_scores,
    gate_summary,
    gate_table,
    markdown_table,
)
from ..resources import ArtifactStore, LabResource, MLflowTracking
from ..stats import StatsError
from ._automation import ANALYSIS_CONDITION
from ._report import ExperimentReport, judge_section, log_to_mlflow, report_links


@dg.asset(
    partitions_def=dataset_partitions,
    ins={
        "comparisons": dg.AssetIn(),
        "scores": of_dataset("scores"),
        "judge_scores": of_dataset("judge_scores"),
    },
    group_name="analysis",
    kinds={"mlflow", "parquet"},
    io_manager_key="parquet_io_manager",
    check_specs=[
        dg.AssetCheckSpec(
            "regression_gate",
            asset="leaderboard",
            blocking=True,
            description="Each gated candidate must be non-inferior to its experiment's baseline "
            "within the experiment's `gate.margin`; on failure `promoted` does not update.",
        )
    ],
    automation_condition=ANALYSIS_CONDITION,
)
def leaderboard(
    context: dg.AssetExecutionContext,
    comparisons: pd.DataFrame,
    scores: dict[str, pd.DataFrame],
    judge_scores: dict[str, pd.DataFrame],
    lab: LabResource,
    artifacts: ArtifactStore,
    tracking: MLflowTracking,
) -> Iterator[object]:
    """Per experiment on this dataset: means with 95% CIs, differences from the baseline, and
    its judges' agreement with human labels and with the 0/1 metrics."""
    the_lab = lab.load()
    dataset = context.partition_key
    tables = tables_by_candidate(scores, set(the_lab.all_candidates()))
    verdicts = tables_by_candidate(judge_scores, set(the_lab.all_candidates()))
    boards, gates = [], []
    metadata: dict[str, dg.RawMetadataValue] = {}
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
        try:
            board = build_leaderboard(
                long, rows, metric=config.metric, baseline=baseline, alpha=config.alpha
            )
        except StatsError as exc:  # e.g. its comparisons failed: the others still report
            context.log.error(f"experiment {name!r} on {dataset!r}: no leaderboard: {exc}")
            continue
        binary = the_lab.experiment_metrics(name).get(config.metric, False)
        report = ExperimentReport(
            name, dataset, config, baseline, board, long, comparisons, binary=binary,
            judges=judge_section(the_lab, name, verdicts, tables),
        )  # fmt: skip
        path = artifacts.write(
            report.markdown(with_plot_file="leaderboard.png"), "reports", name, "report.md"
        )
        artifacts.write(report.plot(), "reports", name, "leaderboard.png")
        artifacts.write(report.forest(), "reports", name, "forest.png")
        runs = log_to_mlflow(tracking, the_lab, report, context.run.run_id)
        gate = gate_table(the_lab, name, long)
        if gate is not None:
            gates.append(gate.assign(experiment=name))
        boards.append(board.assign(experiment=name, metric=config.metric))
        metadata[f"{name}"] = dg.MetadataValue.md(report.markdown(inline_plot=True))
        metadata[f"{name}_report"] = dg.MetadataValue.path(str(path))
        if report.judges:
            metadata[f"{name}_judges"] = dg.MetadataValue.md(report.judges)
        metadata[f"{name}_mlflow_runs"] = dg.MetadataValue.int(len(runs))
        metadata.update(report_links(tracking, name, dataset))
    frame = pd.concat(boards, ignore_index=True) if boards else pd.DataFrame()
    yield dg.Output(frame, metadata={"dagster/row_count": len(frame), **metadata})
    yield gate_result(gates)


def gate_result(gates: list[pd.DataFrame]) -> dg.AssetCheckResult:
    """The regression gate over every gated experiment on this dataset."""
    if not gates:
        return dg.AssetCheckResult(
            check_name="regression_gate",
            passed=True,
            description="no experiment on this dataset has a gate",
            metadata={"gated": 0},
        )
    table = pd.concat(gates, ignore_index=True)
    failed = table[~table["passed"]]
    return dg.AssetCheckResult(
        check_name="regression_gate",
        passed=failed.empty,
        description=gate_summary(table),
        metadata={
            "gated": len(table),
            "failed": len(failed),
            "table": dg.MetadataValue.md(markdown_table(table[["experiment", *GATE_COLUMNS]])),
        },
    )
