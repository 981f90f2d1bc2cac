"""Analyse a dataset when the scores of one of its ``candidate|dataset`` partitions update."""

# No `from __future__ import annotations`: Dagster reads the context annotation at runtime.

import json

import dagster as dg

from .. import tags
from ..jobs import analysis_job
from ..partitions import is_generation_key, partition_dataset

#: What the sensor runs for a dataset: the analysis, which calls no model (``pairwise`` has its
#: own job).
ANALYSED = [dg.AssetKey(a) for a in ("comparisons", "leaderboard", "promoted", "judge_agreement")]
#: Their generations-partitioned inputs: an update of one partition analyses its dataset.
WATCHED = [dg.AssetKey("scores"), dg.AssetKey("judge_scores")]

_BUSY = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def _updated(instance: dg.DagsterInstance, after: int, page: int = 5_000) -> tuple[set[str], int]:
    """Datasets whose generations-partitioned inputs were materialized after storage id
    ``after``, and the storage id to continue after (at most ``page`` events per input a tick:
    a full page stops there, the rest comes next tick)."""
    datasets, newest, stop = set(), after, None
    for key in WATCHED:
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, after_storage_id=after), limit=page, ascending=True
        ).records
        for record in records:
            newest = max(newest, record.storage_id)
            if record.partition_key and is_generation_key(record.partition_key):
                datasets.add(partition_dataset(record.partition_key))
        if len(records) == page:
            stop = min(stop or records[-1].storage_id, records[-1].storage_id)
    return datasets, newest if stop is None else stop


def _generating(instance: dg.DagsterInstance) -> set[str]:
    """Datasets with a ``candidate|dataset`` run queued or in progress."""
    runs = instance.get_runs(dg.RunsFilter(statuses=_BUSY))
    keys = [run.tags.get("dagster/partition", "") for run in runs]
    return {partition_dataset(k) for k in keys if is_generation_key(k)}


@dg.sensor(
    job=analysis_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="When scores (or judges' scores) of a candidate x dataset partition update, "
    "runs that dataset's comparisons, leaderboard, promoted and judge agreement, once no "
    "generation of the dataset is still queued or running; the other datasets are not touched. "
    "It calls no model (pairwise judges run only when asked).",
)
def analysis_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    """Datasets updated since the cursor (plus those still waiting) get one analysis run each."""
    cursor = json.loads(context.cursor) if context.cursor else None
    if cursor is None:  # first tick: what was materialized before is already analysed
        latest = [context.instance.fetch_materializations(key, limit=1).records for key in WATCHED]
        newest = max([r[0].storage_id for r in latest if r], default=0)
        context.update_cursor(json.dumps({"after": newest, "waiting": []}))
        return dg.SkipReason("now following scores updates")
    updated, newest = _updated(context.instance, int(cursor["after"]))
    wanted = updated | set(cursor["waiting"])
    busy = _generating(context.instance) & wanted
    ready = sorted(wanted - busy)
    state = json.dumps({"after": newest, "waiting": sorted(busy)})
    if not ready:
        context.update_cursor(state)
        return dg.SkipReason(
            f"waiting for generations on {sorted(busy)}" if busy else "no scores updated"
        )
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=f"analysis:{dataset}:{newest}",
                partition_key=dataset,
                asset_selection=ANALYSED,
                tags={tags.TRIGGER: "scores"},
            )
            for dataset in ready
        ],
        cursor=state,
    )
