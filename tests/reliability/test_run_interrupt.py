"""Ctrl-C during `llmlab run`: one line saying what was saved and how to resume, exit 130."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_faults import sim_lab

from llmlab_pipelines.lab import load_lab
from llmlab_pipelines.runner import run_lab
from llmlab_pipelines.testing import Simulator, SimulatorConfig, arithmetic_responder

pytestmark = [pytest.mark.reliability, pytest.mark.integration]


def test_ctrl_c_prints_one_line_exits_130_and_the_rerun_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIM_API_KEY", "sk-sim-not-secret")
    with Simulator(SimulatorConfig(latency_s=0.05, responder=arithmetic_responder)) as sim:
        root = sim_lab(tmp_path / "lab", sim)
        child = subprocess.Popen(
            [sys.executable, "-m", "llmlab_pipelines.cli", "run", "--lab", str(root)],
            env={**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 180
            while sim.total_successes < 30 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert sim.total_successes >= 30, "the run never reached the provider"
            child.send_signal(signal.SIGINT)  # what Ctrl-C sends
            out, err = child.communicate(timeout=60)
        finally:
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
        assert child.returncode == 130, err[-3000:]
        assert "Traceback" not in out + err and "InterruptedError" not in out + err, err[-3000:]
        lines = [line for line in err.splitlines() if line.startswith("interrupted:")]
        assert len(lines) == 1, err[-3000:]
        saved = int(lines[0].split()[1])
        assert 30 <= saved < 400  # at least what the provider answered before Ctrl-C, not all
        assert f"re-run `llmlab run --lab {root}` to resume" in lines[0]

        paid = sim.total_successes
        summary = run_lab(load_lab(root), echo=lambda _: None)  # the resume
        assert set(summary.leaderboards) == {"arith"}
        # the resume pays only what was not saved; the calls in flight at Ctrl-C may be paid
        # twice (the provider answered a process that was gone)
        assert sim.total_successes - paid <= 400 - saved + 8
