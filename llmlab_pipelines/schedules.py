"""The nightly benchmark schedule."""

from __future__ import annotations

import os
from datetime import timedelta
from zoneinfo import ZoneInfo

import dagster as dg

from . import tags
from .assets.nightly import nightly_timezone
from .jobs import nightly_job
from .partitions import register_night

#: Fresh samples: the response cache is bypassed for generations (answers are still stored).
REFRESH = {"resources": {"llm": {"config": {"cache": "refresh"}}}}


def nightly_cron() -> str:
    """``LLMLAB_NIGHTLY_CRON`` (default ``0 2 * * *``: 02:00 every night)."""
    return os.environ.get("LLMLAB_NIGHTLY_CRON", "0 2 * * *")


def build_nightly_schedule() -> dg.ScheduleDefinition:
    """The schedule, with cron and time zone read from the environment now (the definitions
    call this when they are assembled; nothing is read at import)."""

    @dg.schedule(
        job=nightly_job,
        cron_schedule=nightly_cron(),
        execution_timezone=nightly_timezone(),
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description="Re-runs the `nightly: true` experiments with the cache bypassed into the "
        "night's partition of nightly_scores (the day just ended), which it adds: only nights "
        "that ran are partitions.",
    )
    def nightly_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        # the day that ended last in the schedule's zone
        local = context.scheduled_execution_time.astimezone(ZoneInfo(nightly_timezone()))
        key = (local - timedelta(days=1)).strftime("%Y-%m-%d")
        register_night(context.instance, key)  # schedules cannot return partition requests
        return dg.RunRequest(
            run_key=f"nightly:{key}",
            partition_key=key,
            run_config=REFRESH,
            tags={tags.TRIGGER: "nightly", tags.CACHE: "refresh"},
        )

    return nightly_schedule
