"""`llmlab ui` serves the asset graph (a real `dagster dev`, queried over GraphQL)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

QUERY = '{"query": "{ assetNodes { assetKey { path } partitionDefinition { description } } }"}'


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def graphql(port: int) -> dict[str, object]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=QUERY.encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


def test_ui_serves_the_asset_graph(sample_lab: Path, tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llmlab_pipelines.cli",
            "ui",
            "--lab",
            str(sample_lab),
            "--port",
            str(port),
        ],
        env={**os.environ},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline, answer = time.monotonic() + 180, None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                answer = graphql(port)
                if answer.get("data", {}).get("assetNodes"):  # type: ignore[union-attr]
                    break
            except OSError:
                pass
            time.sleep(1)
        assert answer is not None, "the UI never answered"
        nodes = answer["data"]["assetNodes"]  # type: ignore[index]
        keys = {"/".join(n["assetKey"]["path"]) for n in nodes}
        assert keys == {"eval_datasets", "generations", "scores", "comparisons", "leaderboard"}
        partitioned = {"/".join(n["assetKey"]["path"]) for n in nodes if n["partitionDefinition"]}
        assert partitioned == keys
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
