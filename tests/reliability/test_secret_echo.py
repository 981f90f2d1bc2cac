"""A provider that echoes the API key in a SUCCESSFUL reply (its text and its ``model`` field)
must not get the key written anywhere: not the response cache, the Parquet artifacts, the
Dagster event log, MLflow, the reports, or the logs."""

from __future__ import annotations

import io
import logging
import sqlite3
import uuid
from pathlib import Path

import pandas as pd
import pytest

from llmlab_pipelines.lab import load_lab
from llmlab_pipelines.runner import run_lab
from llmlab_pipelines.settings import get_settings
from llmlab_pipelines.testing import Simulator, SimulatorConfig, arithmetic_responder

pytestmark = [pytest.mark.reliability]
ROOT = Path(__file__).resolve().parents[2]
# no known key shape and an environment variable named like nothing secret: only the
# models.yaml `api_key_env` says this value is a key
KEY = f"canary{uuid.uuid4().hex}{uuid.uuid4().hex[:8]}"
ENV = "LLMLAB_TEST_PROVIDER_CREDS"


def echo_lab(root: Path, sim: Simulator) -> Path:
    for folder in ("prompts", "datasets", "experiments"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    (root / "models.yaml").write_text(
        f"sim:\n  model: openai/sim\n  api_base: {sim.base_url}\n  api_key_env: {ENV}\n"
        "  max_tokens: 8\n  max_retries: 0\n"
    )
    (root / "prompts" / "p.jinja").write_text("Question: {{ question }}\nAnswer:")
    (root / "prompts" / "q.jinja").write_text("Q: {{ question }}\nA:")
    lines = (ROOT / "lab" / "datasets" / "arithmetic.jsonl").read_text().splitlines()[:10]
    (root / "datasets" / "arithmetic.jsonl").write_text("\n".join(lines) + "\n")
    (root / "experiments" / "echo.yaml").write_text(
        "dataset: arithmetic\nprompts: [p, q]\nmodels: [sim]\nmetrics: [numeric_match]\n"
    )
    return root


def parquet_text(path: Path) -> str:
    """Every cell of a Parquet file as text (compression can hide a string from a byte grep)."""
    try:
        frame = pd.read_parquet(io.BytesIO(path.read_bytes()))
    except Exception:
        return ""
    return frame.to_csv(index=False) + " ".join(map(str, frame.columns))


def sqlite_text(path: Path) -> str:
    """Every text cell of every table of a SQLite file."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return ""
    out: list[str] = []
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                out.extend(str(cell) for cell in row)
    except sqlite3.Error:
        pass
    finally:
        conn.close()
    return "\n".join(out)


def leaks_under(folder: Path, secret: str) -> list[str]:
    found = []
    for path in folder.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        text = secret in data.decode("utf-8", "replace")
        if path.suffix == ".parquet" or data[:4] == b"PAR1":
            text = text or secret in parquet_text(path)
        if data[:16] == b"SQLite format 3\x00":
            text = text or secret in sqlite_text(path)
        if text or secret.encode() in data:
            found.append(str(path.relative_to(folder)))
    return found


def test_a_key_echoed_in_a_successful_reply_is_written_nowhere(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv(ENV, KEY)
    caplog.set_level(logging.DEBUG)
    config = SimulatorConfig(api_key=KEY, responder=arithmetic_responder, echo_key=True)
    with Simulator(config) as sim:
        lab = load_lab(echo_lab(tmp_path / "lab", sim))
        summary = run_lab(lab, experiments=["echo"], log_level="DEBUG")
        paid = sim.total_successes
        run_lab(lab, experiments=["echo"], log_level="DEBUG")  # again, from the cache
        assert set(summary.leaderboards) == {"echo"}
        assert paid > 0 and sim.total_successes == paid
        assert all(h == f"Bearer {KEY}" for h in sim.authorization_headers)

    frames = [
        pd.read_parquet(p)
        for p in (Path(get_settings().artifacts) / "generations").rglob("*.parquet")
    ]
    generations = pd.concat(frames, ignore_index=True)
    # the echo reached the pipeline, and what was stored in its place is the redaction mark
    assert generations["output"].str.endswith("(key: ***)").all()
    assert generations["model"].str.endswith("-***").all()

    leaks = leaks_under(tmp_path, KEY)
    out, err = capfd.readouterr()
    if KEY in out + err:
        leaks.append("console")
    if KEY in caplog.text:
        leaks.append("logs")
    assert leaks == []
