"""The one assembler of the code location's definitions."""

from __future__ import annotations

import dagster as dg

from .assets import ALL_ASSETS
from .jobs import ALL_JOBS
from .resources import ArtifactStore, LabResource, LLMResource, MLflowTracking, ParquetIOManager
from .sensors import ALL_SENSORS


def build_resources() -> dict[str, object]:
    """The default resources: everything local, each overridable by environment variable."""
    return {
        "lab": LabResource(),
        "llm": LLMResource(),
        "parquet_io_manager": ParquetIOManager(),
        "artifacts": ArtifactStore(),
        "tracking": MLflowTracking(),
    }


defs = dg.Definitions(
    assets=ALL_ASSETS,
    asset_checks=[],
    jobs=ALL_JOBS,
    sensors=ALL_SENSORS,
    resources=build_resources(),
)
