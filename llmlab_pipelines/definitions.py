"""The one assembler of the code location's definitions."""

from __future__ import annotations

import dagster as dg

from .assets import ALL_ASSETS
from .jobs import ALL_JOBS
from .resources import ArtifactStore, LabResource, LLMResource, MLflowTracking, ParquetIOManager
from .resources.git import LabRepository
from .schedules import build_nightly_schedule
from .sensors import ALL_SENSORS


def build_resources() -> dict[str, object]:
    """The default resources: everything local, each overridable by environment variable."""
    return {
        "lab": LabResource(),
        "llm": LLMResource(),
        "parquet_io_manager": ParquetIOManager(),
        "artifacts": ArtifactStore(),
        "tracking": MLflowTracking(),
        "lab_repo": LabRepository(),
    }


#: Runs the analysis after generations (declarative automation); on by default, it only ever
#: starts comparisons/leaderboard/promoted runs, which call no model.
automation_sensor = dg.AutomationConditionSensorDefinition(
    "llmlab_automation",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
)


def build_definitions(
    resources: dict[str, object] | None = None, *, automation: bool = True
) -> dg.Definitions:
    """The assets and jobs with the default resources (``resources`` override them), and,
    with ``automation``, the sensors and schedules that launch those jobs. Settings (the nightly
    time zone and cron) are read here, when the definitions are assembled.

    ``llmlab run`` executes these same jobs in-process, without the automation.
    """
    return dg.Definitions(
        assets=ALL_ASSETS,
        jobs=ALL_JOBS,
        schedules=[build_nightly_schedule()] if automation else [],
        sensors=[*ALL_SENSORS, automation_sensor] if automation else [],
        resources={**build_resources(), **(resources or {})},
    )


defs = build_definitions()
