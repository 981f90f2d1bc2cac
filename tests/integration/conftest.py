"""Real servers for integration tests: moto's S3 server, an MLflow tracking server, Postgres."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, process: subprocess.Popen[bytes], seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited with {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.25)
    raise RuntimeError(f"{url} did not answer in {seconds} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """moto's S3 server over HTTP on 127.0.0.1; yields its endpoint URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/moto-api/", process)
    yield url
    stop(process)


@pytest.fixture
def s3_bucket(s3_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh bucket; AWS variables point boto3, s3fs and polars at the moto server."""
    import boto3

    for name, value in (
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_ENDPOINT_URL", s3_server),
    ):
        monkeypatch.setenv(name, value)
    bucket = f"llmlab-{uuid.uuid4().hex[:10]}"
    boto3.client("s3").create_bucket(Bucket=bucket)
    return bucket


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `mlflow server` (SQLite backend, artifacts served from a local folder)."""
    root = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    process = subprocess.Popen(
        [
            str(BIN / "mlflow"),
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--backend-store-uri",
            f"sqlite:///{root / 'mlflow.db'}",
            "--artifacts-destination",
            str(root / "artifacts"),
            "--workers",
            "1",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=root,
    )
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/health", process, seconds=120)
    yield url
    stop(process)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh database on the machine's Postgres (127.0.0.1:5432, trust auth)."""
    psycopg2 = pytest.importorskip("psycopg2")
    name = f"llmlab_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg2.connect(host="127.0.0.1", dbname="postgres", user="postgres")
    except psycopg2.OperationalError as exc:
        pytest.skip(f"no Postgres on 127.0.0.1:5432: {exc}")
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


@pytest.fixture
def postgres_home(tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A DAGSTER_HOME using deploy/dagster.postgres.yaml against the fresh database."""
    home = tmp_path / "dagster-pg"
    home.mkdir()
    shutil.copyfile(
        Path(__file__).resolve().parents[2] / "deploy" / "dagster.postgres.yaml",
        home / "dagster.yaml",
    )
    monkeypatch.setenv("LLMLAB_DAGSTER_PG_URL", postgres_url)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home
