"""Register a partition for every dataset and candidate (prompt version x model x params)."""

# No `from __future__ import annotations`: Dagster reads the context annotation at runtime.

import dagster as dg

from ..lab import LabError, load_lab
from ..partition_sync import missing_partitions
from ..partitions import candidate_partitions, dataset_partitions
from ..resources import LabResource


@dg.sensor(
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Adds dataset and candidate partitions when the lab gains them; never removes.",
)
def lab_partitions_sensor(context: dg.SensorEvaluationContext, lab: LabResource) -> object:
    """Keep the dynamic partitions in step with the lab folder."""
    try:
        the_lab = load_lab(lab.root)
    except LabError as exc:
        return dg.SkipReason(f"the lab does not validate:\n{exc}")
    delta = missing_partitions(
        the_lab,
        set(context.instance.get_dynamic_partitions(dataset_partitions.name)),
        set(context.instance.get_dynamic_partitions(candidate_partitions.name)),
    )
    if not delta:
        return dg.SkipReason("partitions are up to date")
    return dg.SensorResult(
        dynamic_partitions_requests=[
            req
            for req in (
                dataset_partitions.build_add_request(delta.datasets) if delta.datasets else None,
                candidate_partitions.build_add_request(delta.candidates)
                if delta.candidates
                else None,
            )
            if req is not None
        ]
    )
