"""A canary API key must appear nowhere: not in logs, the Dagster event log on Postgres, MLflow,
Parquet, the cache, the spend ledger, error messages or exception traces — even when the
provider echoes a rejected key back in its error, as some real ones do, or echoes the key in a
successful reply's text and ``model`` field."""

from __future__ import annotations

import uuid
from pathlib import Path

import dagster as dg
import pandas as pd
import psycopg2
import pytest
from mlflow.tracking import MlflowClient

from llmlab_pipelines.lab import load_lab
from llmlab_pipelines.runner import RunFailed, run_lab
from llmlab_pipelines.settings import get_settings
from llmlab_pipelines.testing import Simulator, SimulatorConfig, arithmetic_responder

pytestmark = [pytest.mark.reliability, pytest.mark.integration]
CANARY = f"sk-canary-{uuid.uuid4().hex}"
WRONG = f"sk-canary-wrong-{uuid.uuid4().hex}"
ROOT = Path(__file__).resolve().parents[2]


def canary_lab(root: Path, sim: Simulator) -> Path:
    for folder in ("prompts", "datasets", "experiments"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    (root / "models.yaml").write_text(
        f"sim:\n  model: openai/sim\n  api_base: {sim.base_url}\n  api_key_env: CANARY_KEY\n"
        "  max_tokens: 8\n"
        f"stale:\n  model: openai/sim\n  api_base: {sim.base_url}\n  api_key_env: WRONG_KEY\n"
        "  max_tokens: 8\n  max_retries: 0\n"
    )
    (root / "prompts" / "p.jinja").write_text("Question: {{ question }}\nAnswer:")
    (root / "prompts" / "q.jinja").write_text("Q: {{ question }}\nA:")
    lines = (ROOT / "lab" / "datasets" / "arithmetic.jsonl").read_text().splitlines()[:12]
    (root / "datasets" / "arithmetic.jsonl").write_text("\n".join(lines) + "\n")
    for name, model in (("good", "sim"), ("bad", "stale")):
        (root / "experiments" / f"{name}.yaml").write_text(
            f"dataset: arithmetic\nprompts: [p, q]\nmodels: [{model}]\nmetrics: [numeric_match]\n"
        )
    return root


def test_a_canary_key_leaks_nowhere(
    tmp_path: Path,
    postgres_home: Path,
    postgres_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("CANARY_KEY", CANARY)
    monkeypatch.setenv("WRONG_KEY", WRONG)
    config = SimulatorConfig(api_key=CANARY, responder=arithmetic_responder, echo_key=True)
    with (
        Simulator(config) as sim,
        dg.DagsterInstance.from_config(str(postgres_home)) as instance,
    ):
        root = canary_lab(tmp_path / "lab", sim)
        lab = load_lab(root)
        summary = run_lab(lab, experiments=["good"], instance=instance, log_level="DEBUG")
        assert set(summary.leaderboards) == {"good"}
        with pytest.raises(RunFailed) as failed:
            run_lab(lab, experiments=["bad"], instance=instance, log_level="DEBUG", cache="off")
        message = str(failed.value)
        assert "auth" in message  # the failure says why ...
        assert "Incorrect API key provided: ***" in message  # the echo happened, redacted
        assert f"Bearer {WRONG}" in sim.authorization_headers  # ... the key was really sent
        assert any(f"Bearer {CANARY}" == h for h in sim.authorization_headers)
    generations = pd.concat(
        pd.read_parquet(p)
        for p in (Path(get_settings().artifacts) / "generations").rglob("*.parquet")
    )
    ok = generations[generations["error"].isna()]
    assert len(ok) and ok["output"].str.endswith("(key: ***)").all()  # echoed, then redacted

    leaks: list[str] = []
    for secret in (CANARY, WRONG):
        if secret in message:
            leaks.append("RunFailed message")
        conn = psycopg2.connect(postgres_url)
        with conn, conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM event_logs WHERE event LIKE %s", (f"%{secret}%",))
            if cur.fetchone()[0]:
                leaks.append("Dagster event log (Postgres)")
            cur.execute("SELECT count(*) FROM runs WHERE run_body LIKE %s", (f"%{secret}%",))
            if cur.fetchone()[0]:
                leaks.append("Dagster run storage (Postgres)")
        conn.close()
        for folder in (get_settings().home, root):
            for path in folder.rglob("*"):
                if not path.is_file():
                    continue
                data = path.read_bytes()
                if data[:4] == b"PAR1":  # compressed: look in the cells
                    data += pd.read_parquet(path).to_csv().encode()
                if secret.encode() in data:
                    leaks.append(str(path))  # Parquet, cache, ledger, MLflow store, reports
        client = MlflowClient(get_settings().mlflow_uri)
        for experiment in client.search_experiments():
            for run in client.search_runs([experiment.experiment_id]):
                if secret in str(run.data.params) + str(run.data.tags):
                    leaks.append(f"MLflow run {run.info.run_id}")
        out, err = capfd.readouterr()
        if secret in out + err or secret in caplog.text:
            leaks.append("logs / console")
    assert leaks == []
