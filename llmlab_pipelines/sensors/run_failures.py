"""Every failed run, summed up in plain words: in the logs, as a file, and to a webhook."""

# No `from __future__ import annotations`: Dagster reads the context annotation at runtime.

import json
import os
import urllib.request

import dagster as dg

from .. import tags
from ..resources import ArtifactStore
from ..secrets import redact


def failure_summary(context: dg.RunFailureSensorContext) -> str:
    """What failed, where, and why: the run, its partition and tags, each failed step's error."""
    run = context.dagster_run
    lines = [
        f"Dagster run {run.run_id} of job {run.job_name} failed",
    ]
    partition = run.tags.get("dagster/partition")
    if partition:
        lines.append(f"partition: {partition}")
    for key in (tags.GIT_SHA, tags.GIT_MESSAGE, tags.TRIGGER, tags.PROVIDER):
        if key in run.tags:
            lines.append(f"{key.removeprefix('llmlab/')}: {run.tags[key]}")
    for event in context.get_step_failure_events():
        data = event.step_failure_data
        if data and data.user_failure_data and data.user_failure_data.description:
            error = data.user_failure_data.description.strip()  # a dg.Failure: our own words
        else:
            error = data.error.message.strip() if data and data.error else "unknown error"
        lines.append(f"step {event.step_key}: {error[:1000]}")
    if context.failure_event.message and len(lines) < 3:
        lines.append(context.failure_event.message)
    return redact("\n".join(lines))


@dg.run_failure_sensor(
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Writes a summary of every failed run to failures/<run id>.md beside the "
    "artifacts, and posts it to LLMLAB_WEBHOOK_URL when set (Slack-style {'text': ...}).",
)
def run_failure_summary(context: dg.RunFailureSensorContext, artifacts: ArtifactStore) -> None:
    """Summarize a failed run."""
    text = failure_summary(context)
    context.log.warning(text)
    artifacts.write(text + "\n", "failures", f"{context.dagster_run.run_id}.md")
    url = os.environ.get("LLMLAB_WEBHOOK_URL")
    if url:
        post(url, text)


def post(url: str, text: str) -> None:
    """POST ``{"text": ...}`` as JSON (Slack, Teams and most chat webhooks accept it)."""
    request = urllib.request.Request(
        url,
        data=json.dumps({"text": text}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()
