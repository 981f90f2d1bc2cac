"""Links out of the results explorer: the Dagster UI's asset partitions and MLflow's runs."""

from __future__ import annotations

from urllib.parse import quote

from upath import UPath

from ._view_catalog import ALL


def dagster_link(base: str | None, asset: str, key: str, dataset: str) -> str | None:
    """The Dagster UI page of one asset partition (``candidate|dataset``)."""
    if not base:
        return None
    from ..partitions import generation_key  # imports Dagster: only when a link is asked for

    partition = quote(generation_key(key, dataset))
    return f"{base.rstrip('/')}/assets/{asset}?view=partitions&partition={partition}"


_MLFLOW_RUNS: dict[tuple[str, str, str], str] = {}


def mlflow_link(base: str | None, tracking_uri: str, experiment: str, partition: str) -> str | None:
    """The MLflow UI page of the run the leaderboard logged for ``partition``, when known."""
    if not base or not tracking_uri or experiment == ALL:
        return None
    if tracking_uri.startswith("sqlite:///") and not UPath(tracking_uri[10:]).exists():
        return None  # no local store yet: importing mlflow would only find nothing
    key = (tracking_uri, experiment, partition)
    run = _MLFLOW_RUNS.get(key) or _find_run(tracking_uri, experiment, partition)
    if run:
        _MLFLOW_RUNS[key] = run  # found runs only: a run logged later shows without a restart
    return f"{base.rstrip('/')}/#/{run}" if run else None


def _find_run(tracking_uri: str, experiment: str, partition: str) -> str | None:
    try:
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=tracking_uri)
        found = client.get_experiment_by_name(experiment)
        if found is None:
            return None
        runs = client.search_runs(
            [found.experiment_id],
            filter_string=f"tags.`llmlab.partition` = '{partition}'",
            max_results=1,
        )
    except Exception:  # a link is optional: the page never fails for it
        return None
    return f"experiments/{found.experiment_id}/runs/{runs[0].info.run_id}" if runs else None
