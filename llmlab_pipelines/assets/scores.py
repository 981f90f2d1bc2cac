"""scores: deterministic metrics on every generation."""

# No `from __future__ import annotations`: Dagster reads the context annotation at runtime.

import dagster as dg
import pandas as pd

from ..lab._quality import frame_records
from ..metrics import MetricError, score_frame
from ..partitions import CANDIDATE, DATASET, by_dataset, generation_partitions
from ..resources import LabResource


@dg.asset(
    partitions_def=generation_partitions,
    ins={"eval_datasets": dg.AssetIn(partition_mapping=by_dataset)},
    group_name="evaluation",
    kinds={"python", "parquet"},
    io_manager_key="parquet_io_manager",
)
def scores(
    context: dg.AssetExecutionContext,
    generations: pd.DataFrame,
    eval_datasets: pd.DataFrame,
    lab: LabResource,
) -> dg.Output[pd.DataFrame]:
    """Each generation scored by every metric the experiments using it ask for."""
    keys = context.partition_key.keys_by_dimension  # type: ignore[attr-defined]
    the_lab = lab.load()
    names = the_lab.metrics_for(keys[CANDIDATE], keys[DATASET])
    try:
        frame = score_frame(generations, frame_records(eval_datasets), names)
    except MetricError as exc:
        raise dg.Failure(description=str(exc)) from None
    return dg.Output(
        frame,
        metadata={
            "dagster/row_count": len(frame),
            **{f"mean_{m}": float(frame[m].mean()) if len(frame) else 0.0 for m in names},
        },
    )
