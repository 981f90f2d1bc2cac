"""promoted: the prompt each experiment would ship, updated only when the gate passes."""

# No `from __future__ import annotations`: Dagster reads the context annotation at runtime.

import dagster as dg
import pandas as pd

from ..partitions import dataset_partitions
from ..report import markdown_table
from ..resources import LabResource
from ._automation import ANALYSIS_CONDITION


@dg.asset(
    partitions_def=dataset_partitions,
    group_name="analysis",
    kinds={"parquet"},
    io_manager_key="parquet_io_manager",
    automation_condition=ANALYSIS_CONDITION,
)
def promoted(
    context: dg.AssetExecutionContext, leaderboard: pd.DataFrame, lab: LabResource
) -> dg.Output[pd.DataFrame]:
    """Per experiment: the top-ranked candidate, its prompt version and text.

    It sits behind the leaderboard's blocking ``regression_gate`` check, so a regression never
    reaches it: a deployment reading this asset only ever sees gated prompts.
    """
    the_lab = lab.load()
    rows = []
    for name, board in leaderboard.groupby("experiment", sort=False):
        top = board.sort_values("mean", ascending=False).iloc[0]
        candidate = next(c for c in the_lab.candidates(str(name)) if c.label == top["candidate"])
        prompt = the_lab.prompts.get(candidate.prompt)
        rows.append(
            {
                "experiment": name,
                "candidate": candidate.label,
                "candidate_key": candidate.key,
                "prompt": candidate.prompt,
                "prompt_hash": candidate.prompt_hash,
                "model": candidate.model,
                "mean": float(top["mean"]),
                "ci_low": float(top["ci_low"]),
                "ci_high": float(top["ci_high"]),
                "template": prompt.source if prompt is not None else "",
                "dagster_run_id": context.run.run_id,
            }
        )
    frame = pd.DataFrame(rows)
    shown = frame.drop(columns=["template", "dagster_run_id"]) if len(frame) else frame
    return dg.Output(
        frame,
        metadata={
            "dagster/row_count": len(frame),
            "table": dg.MetadataValue.md(markdown_table(shown)),
        },
    )
