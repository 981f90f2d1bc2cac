"""The engine against a real HTTP provider simulator: limits, faults, cache, resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from llmlab_pipelines.engine import Engine, GenerationRequest, ResponseCache
from llmlab_pipelines.lab import GenerationParams, ModelConfig
from llmlab_pipelines.testing import Simulator, SimulatorConfig, arithmetic_responder

KEY_ENV = "LLMLAB_TEST_SIM_KEY"


def requests_for(
    sim: Simulator, n: int, *, prefix: str = "q", **config: object
) -> list[GenerationRequest]:
    model = ModelConfig(model="openai/sim", api_base=sim.base_url, **config)  # type: ignore[arg-type]
    return [
        GenerationRequest(
            f"{prefix}{i}",
            0,
            f"{prefix}{i}: what is {i} + {i % 7}?",
            "sim",
            model,
            GenerationParams(max_tokens=8),
        )
        for i in range(n)
    ]


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-sim-not-a-real-key-000")


def test_answers_and_accounting() -> None:
    with Simulator(SimulatorConfig(responder=arithmetic_responder)) as sim:
        results = Engine().run(requests_for(sim, 20, concurrency=4))
    assert all(r.ok for r in results)
    assert [r.output for r in results] == [str(i + i % 7) for i in range(20)]
    assert all(r.prompt_tokens > 0 and r.completion_tokens == 1 for r in results)


def test_concurrency_limit_holds() -> None:
    with Simulator(SimulatorConfig(latency_s=0.05)) as sim:
        Engine().run(requests_for(sim, 64, concurrency=8))
        assert sim.max_in_flight == 8


def test_rpm_limit_holds_in_every_window() -> None:
    rpm = 3000  # 50 requests a second, spaced 20 ms
    with Simulator(SimulatorConfig()) as sim:
        start = time.monotonic()
        results = Engine().run(requests_for(sim, 120, concurrency=64, rpm=rpm))
        elapsed = time.monotonic() - start
        times = sim.request_times
    assert all(r.ok for r in results)
    assert elapsed >= 119 * 60 / rpm * 0.95
    worst = max(sum(1 for t in times if s <= t < s + 1.0) for s in times)
    assert worst <= rpm / 60 + 1


def test_faults_end_in_success_or_a_recorded_error() -> None:
    config = SimulatorConfig(
        rate_429=0.15,
        retry_after_s=0.01,
        rate_5xx=0.1,
        rate_malformed=0.05,
        rate_timeout=0.03,
        timeout_s=1.5,
        seed=7,
    )
    with Simulator(config) as sim:
        requests = requests_for(sim, 200, concurrency=32, max_retries=6, timeout=0.5)
        engine = Engine(backoff_base=0.01, backoff_cap=0.05)
        results = engine.run(requests)
        assert sorted(r.item_id for r in results) == sorted(r.item_id for r in requests)
        failed = [r for r in results if not r.ok]
        assert all(r.error and r.error_type for r in failed)
        assert len(failed) <= 2  # 7 attempts each: a final failure is very rare
        assert sim.total_successes == len(results) - len(failed)
        assert sum(r.attempts for r in results) == sim.total_requests
        lane = next(iter(engine.lanes.values()))
        assert lane.gate.decreases >= 1  # AIMD backed off on 429s


def test_permanent_errors_are_not_retried() -> None:
    with Simulator(SimulatorConfig(api_key="sk-the-right-key-123")) as sim:
        (result,) = Engine().run(requests_for(sim, 1))
        assert result.error_type == "auth" and result.attempts == 1
        assert sim.total_requests == 1
        assert "sk-sim-not-a-real-key-000" not in (result.error or "")


def test_unchanged_rerun_calls_nothing_and_an_edit_calls_only_itself(tmp_path: Path) -> None:
    with Simulator(SimulatorConfig(responder=arithmetic_responder)) as sim:
        requests = requests_for(sim, 50, concurrency=8)
        first = Engine(cache=ResponseCache(tmp_path / "cache")).run(requests)
        assert sim.total_requests == 50
        again = Engine(cache=ResponseCache(tmp_path / "cache")).run(requests)
        assert sim.total_requests == 50
        assert all(r.cached for r in again)
        assert [r.output for r in again] == [r.output for r in first]
        edited = [*requests[:-1], requests_for(sim, 1, prefix="edited")[0]]
        Engine(cache=ResponseCache(tmp_path / "cache")).run(edited)
        assert sim.total_requests == 51
        Engine(cache=ResponseCache(tmp_path / "cache"), cache_mode="refresh").run(requests[:5])
        assert sim.total_requests == 56


CHILD = """
import os, sys
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
os.environ["OPENAI_API_KEY"] = "sk-sim-not-a-real-key-000"
sys.path.insert(0, {tests!r})
from engine.test_engine_simulator import requests_for
from llmlab_pipelines.engine import Engine, ResponseCache

class Sim:
    base_url = {base!r}

Engine(cache=ResponseCache({cache!r})).run(requests_for(Sim, 200, concurrency=4))
"""


def test_kill_9_then_rerun_loses_nothing_and_pays_once(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with Simulator(SimulatorConfig(latency_s=0.03, responder=arithmetic_responder)) as sim:
        script = CHILD.format(
            tests=str(Path(__file__).parent.parent), base=sim.base_url, cache=str(cache)
        )
        child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(script)])
        deadline = time.monotonic() + 60
        while sim.total_successes < 60 and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        paid_before = sim.total_successes
        assert 60 <= paid_before < 200, "the child must die mid-partition"

        requests = requests_for(sim, 200, concurrency=4)
        results = Engine(cache=ResponseCache(cache)).run(requests)
        assert [r.item_id for r in results] == [r.item_id for r in requests]  # each row once
        assert all(r.ok for r in results)
        assert [r.output for r in results] == [str(i + i % 7) for i in range(200)]
        duplicates = [r.prompt for r in requests if sim.successes(r.prompt) > 1]
        # Only calls in flight at the kill (at most the concurrency) can be paid twice: the
        # provider finished them, the killed process never heard back.
        assert len(duplicates) <= 4
        assert sum(r.cached for r in results) >= paid_before - 4
