"""S3 goes away in the middle of a run (a TCP proxy in front of moto's server is cut): the run
fails clearly after bounded retries, no finished call is lost (rows the store refused wait in a
local spill folder), and once S3 is back the next run picks up without paying twice."""

from __future__ import annotations

import contextlib
import itertools
import socket
import threading
import time
from pathlib import Path

import pytest

from llmlab_pipelines.lab import load_lab
from llmlab_pipelines.runner import RunFailed, run_lab
from llmlab_pipelines.settings import get_settings
from llmlab_pipelines.testing import Simulator, SimulatorConfig, arithmetic_responder

pytestmark = [pytest.mark.reliability, pytest.mark.integration]
ROOT = Path(__file__).resolve().parents[2]


class Proxy:
    """A TCP proxy that can be cut (every connection refused) and restored on the same port."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self._server: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()

    def up(self) -> None:
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(64)
        self._server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def down(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        with self._lock:
            for conn in self._conns:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
                conn.close()
            self._conns.clear()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.close()


def sim_lab(root: Path, sim: Simulator) -> Path:
    for folder in ("prompts", "datasets", "experiments"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    (root / "models.yaml").write_text(
        f"sim:\n  model: openai/sim\n  api_base: {sim.base_url}\n  api_key_env: SIM_API_KEY\n"
        "  max_tokens: 8\n  concurrency: 8\n"
    )
    (root / "prompts" / "a.jinja").write_text("Question: {{ question }}\nAnswer:")
    (root / "prompts" / "b.jinja").write_text("Q: {{ question }}\nA:")
    lines = (ROOT / "lab" / "datasets" / "arithmetic.jsonl").read_text().splitlines()
    (root / "datasets" / "arithmetic.jsonl").write_text("\n".join(lines) + "\n")
    (root / "experiments" / "e.yaml").write_text(
        "dataset: arithmetic\nprompts: [a, b]\nmodels: [sim]\nmetrics: [numeric_match]\n"
    )
    return root


def test_s3_outage_mid_run_fails_clearly_and_the_next_run_pays_nothing_twice(
    tmp_path: Path, s3_bucket: str, s3_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import s3fs

    # s3fs caches filesystems by their arguments, not by AWS_ENDPOINT_URL: one made by an
    # earlier test would talk to moto directly, around the proxy
    s3fs.S3FileSystem.clear_instance_cache()
    host, port = s3_server.removeprefix("http://").split(":")
    proxy = Proxy((host, int(port)))
    proxy.up()
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{proxy.port}")
    monkeypatch.setenv("LLMLAB_ARTIFACTS", f"s3://{s3_bucket}/outage")
    monkeypatch.setenv("SIM_API_KEY", "sk-sim-not-secret")
    calls = itertools.count(1)

    def responder(prompt: str) -> str:  # S3 goes away while the 30th call is answered
        if next(calls) == 30:
            proxy.down()
        return arithmetic_responder(prompt)

    with Simulator(SimulatorConfig(latency_s=0.1, responder=responder)) as sim:
        root = sim_lab(tmp_path / "lab", sim)
        started = time.monotonic()
        with pytest.raises(RunFailed) as info:
            run_lab(load_lab(root), echo=lambda _: None)
        assert time.monotonic() - started < 180  # bounded retries, then the failure
        message = str(info.value)
        assert f"127.0.0.1:{proxy.port}" in message or "connect" in message.lower(), message
        paid = dict(sim_successes(sim))
        spill = get_settings().home / "cache-spill"

        proxy.up()
        summary = run_lab(load_lab(root), echo=lambda _: None)
        assert set(summary.leaderboards) == {"e"}
        again = dict(sim_successes(sim))
        assert all(again[p] == n for p, n in paid.items())  # nothing answered was paid again
        assert not list(spill.rglob("*.jsonl"))  # any spilled answers went up to S3 once back
    proxy.down()
    s3fs.S3FileSystem.clear_instance_cache()


def sim_successes(sim: Simulator) -> dict[str, int]:
    with sim._counters.lock:
        return dict(sim._counters.successes)
