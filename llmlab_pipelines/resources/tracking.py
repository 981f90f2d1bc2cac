"""MLflow tracking: one run per experiment x candidate x dataset, updated in place on re-runs."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field

from ..secrets import redact, redact_frame, redact_values
from ..settings import get_settings

PARTITION_TAG = "llmlab.partition"
ITEMS_TABLE = "items.json"  # the per-item evaluation table of a candidate run
MLFLOW_UI = "http://127.0.0.1:5000"  # ``mlflow ui``'s default: where a local store is shown
_READY: set[str] = set()  # SQLite stores this process has seen initialised


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
    parent_run_id: str | None = None
    table: Any = None  # a DataFrame logged as MLflow's evaluation table ``items.json``


class MLflowTracking(dg.ConfigurableResource):
    """Logs runs to MLflow (``MLFLOW_TRACKING_URI``; default a SQLite store in the state folder)."""

    tracking_uri: str | None = Field(default=None, description="Default: MLFLOW_TRACKING_URI")
    enabled: bool = True

    def _client(self) -> Any:
        from mlflow.tracking import MlflowClient

        uri = self.tracking_uri or get_settings().mlflow_uri
        if uri.startswith("sqlite") and uri not in _READY:
            # the first use of a SQLite store creates and migrates its tables: two processes
            # doing it at once collide ("table _alembic_tmp_... already exists"); take turns
            from ..locks import partition_lock

            with partition_lock(f"mlflow-store|{uri}"):
                client = MlflowClient(tracking_uri=uri)
                client.search_experiments(max_results=1)
            _READY.add(uri)
            return client
        return MlflowClient(tracking_uri=uri)

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
        all_tags = dict(run.tags)
        if run.parent_run_id:
            all_tags["mlflow.parentRunId"] = run.parent_run_id
        tags = [RunTag(k, redact(str(v))[:5000]) for k, v in sorted(all_tags.items())]
        client.log_batch(run_id, metrics=metrics, params=params, tags=tags)
        self._log_files(client, run_id, run.files)
        if run.table is not None:
            _log_table(client, run_id, redact_frame(run.table))
        client.set_terminated(run_id, "FINISHED")
        return str(run_id)

    def parent_run(
        self, experiment: str, dagster_run_id: str, dataset: str, tags: dict[str, str]
    ) -> str | None:
        """The parent run of one Dagster run's leaderboard (children: its candidate runs)."""
        if not self.enabled:
            return None
        client = self._client()
        experiment_id = self.experiment_id(client, experiment)
        key = f"dagster:{dagster_run_id}|{dataset}"
        found = client.search_runs(
            [experiment_id], filter_string=f"tags.`{PARTITION_TAG}` = '{key}'", max_results=1
        )
        if found:
            return str(found[0].info.run_id)
        created = client.create_run(
            experiment_id,
            run_name=f"dagster run {dagster_run_id[:8]} on {dataset}",
            tags={PARTITION_TAG: key, **{k: redact(v) for k, v in tags.items()}},
        )
        client.set_terminated(created.info.run_id, "FINISHED")
        return str(created.info.run_id)

    def experiment_url(self, experiment: str) -> str | None:
        """The MLflow UI page of an experiment's runs: on the tracking server when it is one,
        else on ``mlflow ui``'s default address (the README gives the command for the local
        store). None when tracking is off or the experiment has no runs yet."""
        if not self.enabled:
            return None
        uri = self.tracking_uri or get_settings().mlflow_uri
        found = self._client().get_experiment_by_name(experiment)
        if found is None:
            return None
        base = uri.rstrip("/") if uri.startswith(("http://", "https://")) else MLFLOW_UI
        return f"{base}/#/experiments/{found.experiment_id}"

    def register_prompt(self, name: str, template: str, prompt_hash: str) -> int | None:
        """Register a prompt version in MLflow's prompt registry once per content hash."""
        if not self.enabled:
            return None
        import mlflow

        self._client()  # a SQLite store is initialised once, under the lock
        mlflow.set_tracking_uri(self.tracking_uri or get_settings().mlflow_uri)
        try:
            found = mlflow.genai.search_prompts(filter_string=f"name = '{name}'")
            if found:
                for version in range(_latest_version(mlflow, name), 0, -1):
                    prompt = mlflow.genai.load_prompt(f"prompts:/{name}/{version}")
                    if prompt.tags.get("llmlab.prompt_hash") == prompt_hash:
                        return int(prompt.version)
            created = mlflow.genai.register_prompt(
                name=name,
                template=template,
                commit_message=f"llmlab prompt {prompt_hash[:8]}",
                tags={"llmlab.prompt_hash": prompt_hash},
            )
            return int(created.version)
        except Exception:  # a store without a prompt registry: the runs carry the hash anyway
            return None

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
            experiment_id, run_name=redact(run.name), tags={PARTITION_TAG: run.partition}
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
                target.write_bytes(_redacted_file(data))
            client.log_artifacts(run_id, tmp)


def _log_table(client: Any, run_id: str, table: Any) -> None:
    """Log ``table`` as the run's evaluation table; a re-run replaces it (``log_table`` would
    append to the table already there, doubling every row)."""
    if ITEMS_TABLE not in {f.path for f in client.list_artifacts(run_id)}:
        client.log_table(run_id, data=table, artifact_file=ITEMS_TABLE)
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ITEMS_TABLE
        table.to_json(path, orient="split", index=False, date_format="iso")  # log_table's format
        client.log_artifact(run_id, str(path))


def _redacted_file(data: bytes | str) -> bytes:
    """A file for MLflow with every configured secret replaced: Parquet cell by cell (it is
    compressed), text as text; other binaries (plots) as they are."""
    if isinstance(data, str):
        return redact_values(data).encode()
    if data[:4] == b"PAR1":
        import io

        import pandas as pd

        frame = pd.read_parquet(io.BytesIO(data))
        redacted = redact_frame(frame)
        return data if redacted is frame else redacted.to_parquet(index=False)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return data
    return redact_values(text).encode()


def _latest_version(mlflow: Any, name: str) -> int:
    prompt = mlflow.genai.load_prompt(f"prompts:/{name}@latest")
    return int(prompt.version)
