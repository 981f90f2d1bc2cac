"""`llmlab ui` end to end, over real HTTP: what a hostile web page sends is refused (403), the
UI's own requests pass, and SIGTERM stops the webserver, the daemon and the code server."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from llmlab_pipelines import cli
from llmlab_pipelines.web._procs import alive, descendants

pytestmark = [pytest.mark.reliability, pytest.mark.integration]
ROOT = Path(__file__).resolve().parents[2]
# what a page elsewhere would send: the lab resource pointed at another folder, whose
# metrics/*.py the run would import
LAUNCH = (
    "mutation { launchRun(executionParams: {selector: {repositoryLocationName: "
    '"llmlab_pipelines.definitions", repositoryName: "__repository__", jobName: '
    '"generations_job"}, runConfigData: "{\\"resources\\": {\\"lab\\": {\\"config\\": '
    '{\\"path\\": \\"/tmp/evil\\"}}}}"}) { __typename } }'
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def request(
    port: int, path: str, body: dict[str, object] | None = None, **headers: str
) -> tuple[int, str]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data)
    req.add_header("Content-Type", "application/json")
    for name, value in headers.items():
        req.add_header(name.replace("_", "-"), value)
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """`llmlab ui` on the sample lab, on a free port, with its own state folder."""
    tmp = tmp_path_factory.mktemp("ui")
    shutil.copytree(ROOT / "lab", tmp / "lab")
    port = free_port()
    env = {
        **os.environ,
        "LLMLAB_HOME": str(tmp / "state"),
        "DAGSTER_HOME": str(tmp / "state" / "dagster"),
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    }
    env.pop("LLMLAB_UI_TOKEN", None)
    command = [sys.executable, "-m", "llmlab_pipelines.cli", "ui", "--lab", str(tmp / "lab")]
    process = subprocess.Popen(
        [*command, "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and process.poll() is None:
        try:
            status, text = request(
                port, "/graphql", {"query": "{ repositoriesOrError { __typename } }"}
            )
            if status == 200 and "RepositoryConnection" in text:
                break
        except OSError:
            pass
        time.sleep(1)
    else:
        pytest.fail(f"llmlab ui never answered (exit code {process.poll()})")
    try:
        yield process, port
    finally:  # the whole session: whatever a failed test left behind
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def test_cross_site_requests_are_refused_and_the_ui_own_requests_pass(
    ui: tuple[subprocess.Popen[bytes], int],
) -> None:
    _, port = ui
    own = f"http://127.0.0.1:{port}"
    query = {"query": "{ version }"}
    assert request(port, "/graphql", query, Origin=own)[0] == 200
    assert request(port, "/", Accept="text/html")[0] == 200

    status, text = request(port, "/graphql", {"query": LAUNCH}, Origin="http://evil.example")
    assert status == 403 and "cross-origin" in text
    assert request(port, "/", Host="evil.example")[0] == 403  # DNS rebinding
    assert request(port, "/graphql", query, Host=f"evil.example:{port}")[0] == 403
    get = "/graphql?" + urllib.parse.urlencode({"query": LAUNCH})
    status, text = request(port, get)  # an <img src=...> on any page could send this
    assert status == 403 and "mutation" in text
    assert request(port, "/graphql?" + urllib.parse.urlencode(query))[0] == 200  # a pure query

    with connect(f"ws://127.0.0.1:{port}/graphql", origin=own, subprotocols=["graphql-ws"]):
        pass  # the UI's own websocket
    with pytest.raises(InvalidStatus) as refused:
        connect(
            f"ws://127.0.0.1:{port}/graphql",
            origin="http://evil.example",  # type: ignore[arg-type]
            subprotocols=["graphql-ws"],  # type: ignore[list-item]
        )
    assert refused.value.response.status_code == 403


def test_sigterm_stops_the_webserver_the_daemon_and_the_code_server(
    ui: tuple[subprocess.Popen[bytes], int],
) -> None:
    process, port = ui
    children = descendants(process.pid)
    commands = [Path(f"/proc/{pid}/cmdline").read_bytes() for pid, _ in children]
    assert any(b"code-server" in c for c in commands), commands
    assert any(b"_daemon" in c or b"dagster-daemon" in c for c in commands), commands
    process.send_signal(signal.SIGTERM)  # to `llmlab ui` alone, as systemd or `kill` would
    assert process.wait(timeout=90) == 0
    deadline = time.monotonic() + 10  # orphans are reaped by init
    while time.monotonic() < deadline and any(alive(c) for c in children):
        time.sleep(0.1)
    assert [c for c in children if alive(c)] == []
    assert not listening(port)


def test_binding_beyond_this_machine_without_a_token_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    served: list[object] = []
    serve = lambda config, **_: served.append(config) or 0  # noqa: E731
    monkeypatch.setattr("llmlab_pipelines.web.serve_dagster_ui", serve)
    monkeypatch.delenv("LLMLAB_UI_TOKEN", raising=False)
    assert cli.main(["ui", "--host", "0.0.0.0"]) == 2
    assert "LLMLAB_UI_TOKEN" in capsys.readouterr().err and served == []
    cli.main(["ui", "--host", "0.0.0.0", "--token", "t0k"])
    monkeypatch.setenv("LLMLAB_UI_TOKEN", "from-env")
    cli.main(["ui", "--host", "10.0.0.5", "--allow-origin", "https://evals.example.com"])
    cli.main(["ui"])
    tokens = [getattr(c, "token", None) for c in served]
    assert tokens == ["t0k", "from-env", "from-env"]
    assert getattr(served[1], "allowed_origins", None) == ("https://evals.example.com",)


def test_an_allowed_origin_without_a_scheme_stops_llmlab_ui_before_it_starts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    served: list[object] = []
    serve = lambda config, **_: served.append(config) or 0  # noqa: E731
    monkeypatch.setattr("llmlab_pipelines.web.serve_dagster_ui", serve)
    assert cli.main(["ui", "--allow-origin", "evals.example.com"]) == 2
    err = capsys.readouterr().err
    assert "--allow-origin" in err and "'evals.example.com'" in err and "https://" in err
    assert served == []
