"""scores: deterministic metrics on every generation."""

# No `from __future__ import annotations`: Dagster reads the context annotation at runtime.

import dagster as dg
import pandas as pd

from ..judges import judge_metric_columns, judge_reason_columns
from ..lab._quality import frame_records
from ..metrics import MetricError, score_frame
from ..partitions import generation_partitions, of_dataset, split_key
from ..resources import LabResource
from ._metadata import shown


@dg.asset(
    partitions_def=generation_partitions,
    ins={"eval_datasets": of_dataset("eval_datasets", one=True)},
    group_name="evaluation",
    kinds={"python", "parquet"},
    io_manager_key="parquet_io_manager",
)
def scores(
    context: dg.AssetExecutionContext,
    generations: pd.DataFrame,
    judge_scores: pd.DataFrame,
    eval_datasets: pd.DataFrame,
    lab: LabResource,
) -> dg.Output[pd.DataFrame]:
    """Each generation scored by every metric the experiments using it ask for: deterministic
    metrics, and the judges' scores (one column per judge x dimension, panels' consensus) with
    each rubric judge's reason (``<column>_reason``).

    A failed generation (an error, no output) has no score: its quality columns are NaN (the
    cost and latency of the call stay). The statistics leave such items out on both sides of
    every comparison and the leaderboard counts them in ``missing``."""
    candidate, dataset = split_key(context.partition_key)
    the_lab = lab.load()
    names = the_lab.metrics_for(candidate, dataset)
    judged = the_lab.judge_names_for(candidate, dataset)
    judge_cols = {c for j in judged for c in the_lab.judge_columns(j).values()}
    try:
        frame = score_frame(
            generations,
            frame_records(eval_datasets),
            [n for n in names if n not in judge_cols],
            the_lab.metrics,
        )
    except MetricError as exc:
        raise dg.Failure(description=str(exc)) from None
    if judged:
        wide = judge_metric_columns(the_lab, judged, judge_scores)
        frame = frame.merge(wide, on=["item_id", "repeat"], how="left")
        frame[sorted(judge_cols)] = frame[sorted(judge_cols)].fillna(0.0)
        names = list(dict.fromkeys([*names, *sorted(judge_cols)]))
        reasons = judge_reason_columns(the_lab, judged, judge_scores)
        frame = frame.merge(reasons, on=["item_id", "repeat"], how="left")
    metrics = the_lab.metrics
    frame = unscore_failed(frame, [n for n in names if n not in metrics or not metrics[n].source])
    return dg.Output(
        frame,
        metadata={
            "dagster/row_count": len(frame),
            **{f"mean_{m}": shown(frame[m].mean()) if len(frame) else 0.0 for m in names},
        },
    )


def unscore_failed(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """NaN in ``columns`` for generations that failed (an error or no output): missing, not 0."""
    failed = frame["output"].isna()
    if "error" in frame.columns:
        failed |= frame["error"].notna()
    out = frame.copy()
    out.loc[failed, columns] = float("nan")
    return out
