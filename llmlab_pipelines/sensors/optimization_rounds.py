"""Chain the rounds of a prompt optimization: each materialization runs one round, and this
sensor asks for the next while one remains (the last runs the held-out test)."""

from __future__ import annotations

import dagster as dg

from .. import tags
from ..asset_metadata import unfinished
from ..jobs import optimize_job


def next_round_request(
    materialization: dg.AssetMaterialization, run_id: str
) -> dg.RunRequest | None:
    """The run of the next round, for the experiments a materialization left unfinished."""
    pending = unfinished(materialization.metadata)
    if not pending:
        return None
    return dg.RunRequest(
        run_key=f"{run_id}:next-round",  # one follow-up per finished round, never two
        partition_key=materialization.partition,
        run_config={"ops": {"prompt_optimization": {"config": {"experiments": pending}}}},
        tags={tags.KIND: "optimize", tags.PREVIOUS_RUN: run_id},
    )


@dg.asset_sensor(
    asset_key=dg.AssetKey("prompt_optimization"),
    job=optimize_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Starts the next optimization round when a round finishes with rounds left.",
)
def optimization_rounds_sensor(
    context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry
) -> dg.SensorResult:
    event = asset_event.dagster_event
    materialization = event.step_materialization_data.materialization if event else None
    request = (
        next_round_request(materialization, asset_event.run_id)
        if materialization is not None
        else None
    )
    return dg.SensorResult(run_requests=[request] if request else [])
