"""Run exactly the partitions a new commit affects: new prompt versions, edited datasets..."""

# No `from __future__ import annotations`: Dagster reads the context annotation at runtime.

import json

import dagster as dg

from ..gitwatch import Snapshot, affected, changed_datasets, snapshot_at
from ..jobs import eval_datasets_job, generations_job
from ..lab import LabError
from ..partitions import generation_key, partition_requests
from ..resources.git import LabRepository
from ..vcs import GitError, changed_paths


def _cursor(raw: str | None) -> dict[str, str]:
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        value = {"sha": raw}
    return value if isinstance(value, dict) else {}


def _run_state(instance: dg.DagsterInstance, run_key: str) -> str:
    runs = instance.get_runs(dg.RunsFilter(tags={"dagster/run_key": run_key}), limit=1)
    if not runs:
        return "missing"
    status = runs[0].status
    if status == dg.DagsterRunStatus.SUCCESS:
        return "done"
    if status in (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED):
        return f"failed (run {runs[0].run_id})"
    return "running"


def _generation_requests(pending: dict[str, object]) -> list[dg.RunRequest]:
    sha, tags = str(pending["sha"]), dict(pending["tags"])  # type: ignore[call-overload]
    providers: dict[str, dict[str, str]] = pending["providers"]  # type: ignore[assignment]
    return [
        dg.RunRequest(
            run_key=f"{sha}:{candidate}|{dataset}",
            job_name=generations_job.name,
            partition_key=generation_key(candidate, dataset),
            tags={**tags, **providers.get(candidate, {})},
        )
        for candidate, dataset in pending["keys"]  # type: ignore[attr-defined]
    ]


def _dataset_key(sha: str, dataset: str) -> str:
    return f"{sha}:dataset:{dataset}"


@dg.sensor(
    jobs=[eval_datasets_job, generations_job],
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="On a new commit to the lab's repository, generates and scores exactly the "
    "candidate x dataset partitions whose prompt, model, parameters or data changed (changed "
    "datasets are snapshotted first); the analysis follows (analysis_sensor). The cursor "
    "holds the last commit seen.",
)
def lab_git_sensor(
    context: dg.SensorEvaluationContext, lab_repo: LabRepository
) -> dg.SensorResult | dg.SkipReason:
    """Compare the new commit's lab with the last good commit's and request what differs."""
    cursor = _cursor(context.cursor)
    pending = cursor.get("pending")
    if isinstance(pending, dict):
        return _resume(context, cursor, pending)
    try:
        top, subdir = lab_repo.locate()
        commit = lab_repo.latest(top)
    except GitError as exc:
        return dg.SkipReason(f"cannot read the lab's repository: {exc}")
    if commit.sha == cursor.get("sha"):
        return dg.SkipReason(f"no new commit (at {commit.sha[:10]})")
    seen = {**cursor, "sha": commit.sha}
    try:
        new = snapshot_at(top, commit.sha, subdir)
    except LabError as exc:
        context.update_cursor(json.dumps(seen))  # do not re-check a broken commit every tick
        return dg.SkipReason(
            f"commit {commit.sha[:10]} ({commit.message!r} by {commit.author}) breaks the lab; "
            f"nothing was run. Fix it in a new commit:\n{exc}"
        )
    good = cursor.get("good")
    if good is None:
        context.update_cursor(json.dumps({**seen, "good": commit.sha}))
        return dg.SkipReason(
            f"now watching {subdir or '.'} from commit {commit.sha[:10]}; "
            "later commits trigger runs for what they change"
        )
    old: Snapshot | None
    try:
        old = snapshot_at(top, str(good), subdir)
    except (LabError, GitError):
        old = None  # history rewritten: treat every partition as new
    keys = affected(old, new)
    if not keys:
        context.update_cursor(json.dumps({**seen, "good": commit.sha}))
        paths = changed_paths(top, str(good), commit.sha, subdir) if old is not None else []
        return dg.SkipReason(
            f"commit {commit.sha[:10]} changes nothing that is generated"
            + (f" ({', '.join(paths[:5])})" if paths else "")
        )
    datasets = changed_datasets(old, new, {d for _, d in keys})
    work: dict[str, object] = {
        "sha": commit.sha,
        "tags": commit.tags(),
        "keys": [list(k) for k in keys],
        "providers": {c: new.providers.get(c, {}) for c, _ in keys},
        "datasets": datasets,
    }
    context.log.info(
        f"commit {commit.sha[:10]}: {len(keys)} partition(s) to run, "
        f"{len(datasets)} dataset(s) to snapshot first"
    )
    partitions = partition_requests(
        context.instance,
        datasets=[d for _, d in keys],
        generations=[generation_key(c, d) for c, d in keys],
    )
    if datasets:
        return dg.SensorResult(
            run_requests=[
                dg.RunRequest(
                    run_key=_dataset_key(commit.sha, d),
                    job_name=eval_datasets_job.name,
                    partition_key=d,
                    tags=commit.tags(),
                )
                for d in datasets
            ],
            dynamic_partitions_requests=partitions,
            cursor=json.dumps({**seen, "pending": work}),
        )
    return dg.SensorResult(
        run_requests=_generation_requests(work),
        dynamic_partitions_requests=partitions,
        cursor=json.dumps({**seen, "good": commit.sha}),
    )


def _resume(
    context: dg.SensorEvaluationContext, cursor: dict[str, object], pending: dict[str, object]
) -> dg.SensorResult | dg.SkipReason:
    """Generations wait for the commit's changed datasets to be snapshotted."""
    sha = str(pending["sha"])
    states = {
        d: _run_state(context.instance, _dataset_key(sha, d))
        for d in pending["datasets"]  # type: ignore[attr-defined]
    }
    failed = {d: s for d, s in states.items() if s.startswith("failed")}
    rest = {k: v for k, v in cursor.items() if k != "pending"}
    if failed:
        context.update_cursor(json.dumps(rest))  # "good" stays: the next commit redoes this
        return dg.SkipReason(
            f"commit {sha[:10]}: dataset snapshot "
            + "; ".join(f"{d} {s}" for d, s in failed.items())
            + " - its generations were not requested; see that run for the dataset's problems"
        )
    waiting = [d for d, s in states.items() if s != "done"]
    if waiting:
        return dg.SkipReason(f"commit {sha[:10]}: waiting for dataset snapshot(s) {waiting}")
    return dg.SensorResult(
        run_requests=_generation_requests(pending),
        cursor=json.dumps({**rest, "good": sha}),
    )
