"""Register a partition for every dataset and every candidate x dataset pair an experiment uses."""

# No `from __future__ import annotations`: Dagster reads the context annotation at runtime.

import dagster as dg

from ..lab import LabError, load_lab
from ..partitions import partition_requests
from ..resources import LabResource


@dg.sensor(
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Adds dataset and candidate x dataset partitions when the lab's experiments "
    "gain them (only the pairs an experiment evaluates); never removes.",
)
def lab_partitions_sensor(
    context: dg.SensorEvaluationContext, lab: LabResource
) -> dg.SensorResult | dg.SkipReason:
    """Keep the dynamic partitions in step with the lab folder."""
    try:
        the_lab = load_lab(lab.root)
    except LabError as exc:
        return dg.SkipReason(f"the lab does not validate:\n{exc}")
    requests = partition_requests(context.instance, the_lab)
    if not requests:
        return dg.SkipReason("partitions are up to date")
    return dg.SensorResult(dynamic_partitions_requests=requests)
