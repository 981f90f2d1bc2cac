"""MLflow tracking: one run per experiment x candidate x dataset, updated in place on re-runs."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field

from ..engine import redact
from ..settings import get_settings

PARTITION_TAG = "llmlab.partition"


@dataclass
class CandidateRun:
    """What is logged for one candidate on one dataset within one experiment."""

    experiment: str
    partition: str
    name: str
    params: dict[str, Any]
    metrics: dict[str, float]
    tags: dict[str, str]
    files: dict[str, bytes | str] = field(default_factory=dict)


class MLflowTracking(dg.ConfigurableResource):
    """Logs runs to MLflow (``MLFLOW_TRACKING_URI``; default a SQLite store in the state folder)."""

    tracking_uri: str | None = Field(default=None, description="Default: MLFLOW_TRACKING_URI")
    enabled: bool = True

    def _client(self) -> Any:
        from mlflow.tracking import MlflowClient

        return MlflowClient(tracking_uri=self.tracking_uri or get_settings().mlflow_uri)

    def experiment_id(self, client: Any, name: str) -> str:
        """Find or create the MLflow experiment of a lab experiment."""
        found = client.get_experiment_by_name(name)
        if found is not None:
            return str(found.experiment_id)
        settings = get_settings()
        uri = self.tracking_uri or settings.mlflow_uri
        location = f"{settings.mlflow_artifacts}/{name}" if not uri.startswith("http") else None
        return str(client.create_experiment(name, artifact_location=location))

    def log(self, run: CandidateRun) -> str | None:
        """Create or update the run of one partition; returns its run id."""
        if not self.enabled:
            return None
        from mlflow.entities import Metric, Param, RunTag

        client = self._client()
        experiment_id = self.experiment_id(client, run.experiment)
        run_id = self._find_or_create(client, experiment_id, run)
        params = [Param(k, redact(str(v))[:6000]) for k, v in sorted(run.params.items())]
        existing = client.get_run(run_id).data.params
        params = [p for p in params if p.key not in existing]  # params are write-once in MLflow
        metrics = [
            Metric(k, float(v), 0, 0)
            for k, v in sorted(run.metrics.items())
            if v is not None and v == v
        ]
        tags = [RunTag(k, redact(str(v))[:5000]) for k, v in sorted(run.tags.items())]
        client.log_batch(run_id, metrics=metrics, params=params, tags=tags)
        self._log_files(client, run_id, run.files)
        client.set_terminated(run_id, "FINISHED")
        return str(run_id)

    @staticmethod
    def _find_or_create(client: Any, experiment_id: str, run: CandidateRun) -> str:
        found = client.search_runs(
            [experiment_id],
            filter_string=f"tags.`{PARTITION_TAG}` = '{run.partition}'",
            max_results=1,
        )
        if found:
            return str(found[0].info.run_id)
        created = client.create_run(
            experiment_id, run_name=run.name, tags={PARTITION_TAG: run.partition}
        )
        return str(created.info.run_id)

    @staticmethod
    def _log_files(client: Any, run_id: str, files: dict[str, bytes | str]) -> None:
        if not files:
            return
        with tempfile.TemporaryDirectory() as tmp:
            for name, data in files.items():
                target = Path(tmp) / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data.encode() if isinstance(data, str) else data)
            client.log_artifacts(run_id, tmp)
