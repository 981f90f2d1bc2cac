"""Where things live, from environment variables read at call time (never at import)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    """The embedded defaults, each overridable by one environment variable.

    Args:
        lab: The lab folder (``LLMLAB_LAB``, default ``./lab``).
        home: The local state folder (``LLMLAB_HOME``, default ``./.llmlab``).
        artifacts: Where Parquet artifacts, reports and the response cache go
            (``LLMLAB_ARTIFACTS``: a folder or ``s3://bucket/prefix``).
        mlflow_uri: ``MLFLOW_TRACKING_URI`` (default: SQLite under ``home``).
        dagster_home: ``DAGSTER_HOME`` (default ``home/dagster``).
    """

    lab: Path
    home: Path
    artifacts: str
    mlflow_uri: str
    dagster_home: Path

    @property
    def mlflow_artifacts(self) -> str:
        """Artifact root for MLflow experiments the project creates on a local store."""
        return (self.home / "mlartifacts").resolve().as_uri()

    @property
    def models_dir(self) -> Path:
        """Where local model files are unpacked (``LLMLAB_MODELS``, default ``home/models``)."""
        return Path(os.environ.get("LLMLAB_MODELS") or self.home / "models").resolve()


def get_settings() -> Settings:
    """Read the settings from the environment now."""
    home = Path(os.environ.get("LLMLAB_HOME", ".llmlab")).resolve()
    return Settings(
        lab=Path(os.environ.get("LLMLAB_LAB", "lab")).resolve(),
        home=home,
        artifacts=os.environ.get("LLMLAB_ARTIFACTS") or str(home / "artifacts"),
        mlflow_uri=os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{home / 'mlflow.db'}",
        dagster_home=Path(os.environ.get("DAGSTER_HOME") or home / "dagster").resolve(),
    )
