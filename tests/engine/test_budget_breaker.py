"""Budgets stop spending before the cap; circuit breakers fail fast and recover (simulator)."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pandas as pd
import pytest

from llmlab_pipelines.engine import (
    Budget,
    CircuitBreaker,
    Engine,
    GenerationRequest,
    ResponseCache,
)
from llmlab_pipelines.lab import GenerationParams, ModelConfig
from llmlab_pipelines.testing import Simulator, SimulatorConfig, arithmetic_responder


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-sim-not-a-real-key-000")


def requests_for(sim: Simulator, n: int, **config: object) -> list[GenerationRequest]:
    model = ModelConfig(model="openai/sim", api_base=sim.base_url, **config)  # type: ignore[arg-type]
    return [
        GenerationRequest(
            f"q{i}", 0, f"q{i}: what is {i} + 1?", "sim", model, GenerationParams(max_tokens=8)
        )
        for i in range(n)
    ]


def test_a_budget_stops_the_run_and_a_raised_one_continues(tmp_path: Path) -> None:
    priced = {"input_cost_per_token": 1e-4, "output_cost_per_token": 1e-3, "concurrency": 8}
    with Simulator(SimulatorConfig(responder=arithmetic_responder, latency_s=0.01)) as sim:
        requests = requests_for(sim, 100, **priced)
        budget = Budget(0.1, label="experiment 'arith' run budget")
        first = Engine(cache=ResponseCache(tmp_path / "cache"), budget=budget).run(requests)
        made = sim.total_requests
        done = [r for r in first if r.ok]
        refused = [r for r in first if r.error_type == "budget"]
        assert done and refused and len(done) + len(refused) == 100
        assert made == len(done)  # a refused call is never sent
        assert budget.spent_usd <= budget.limit_usd  # never overshot
        assert budget.spent_usd == pytest.approx(sum(r.cost_usd for r in done))
        assert "experiment 'arith' run budget of $0.1000 reached" in (refused[0].error or "")
        assert "raise the budget and re-run" in (refused[0].error or "")

        again = Engine(cache=ResponseCache(tmp_path / "cache"), budget=Budget(1.0)).run(requests)
        assert all(r.ok for r in again)
        assert sim.total_requests - made == len(refused)  # only what was missing; nothing twice


def test_the_breaker_opens_fails_fast_and_closes_after_a_probe() -> None:
    with Simulator(SimulatorConfig(responder=arithmetic_responder, rate_5xx=1.0)) as sim:
        settings = {
            "concurrency": 1,
            "max_retries": 0,
            "breaker_threshold": 3,
            "breaker_cooldown_s": 0.3,
        }
        engine = Engine(backoff_base=0.0)
        down = engine.run(requests_for(sim, 10, **settings))
        assert sim.total_requests == 3  # then the breaker opened: 7 calls never sent
        assert [r.error_type for r in down].count("circuit_open") == 7
        assert "circuit breaker open for openai/sim after 3 consecutive failures" in (
            down[-1].error or ""
        )
        [state] = engine.breakers().values()
        assert state["state"] == "open" and state["times_opened"] == 1

        sim.config = dataclasses.replace(sim.config, rate_5xx=0.0)  # the provider recovers
        time.sleep(0.35)
        up = engine.run(requests_for(sim, 5, **settings))
        assert all(r.ok for r in up)
        [state] = engine.breakers().values()
        assert state["state"] == "closed"
        assert [e.split(":")[0] for e in state["events"]] == ["open", "half-open", "closed"]


def _unreachable(n: int) -> list[GenerationRequest]:
    model = ModelConfig(
        model="openai/gpt-4o-mini",
        api_base="http://127.0.0.1:9/v1",  # nothing listens on port 9
        concurrency=1,
        max_retries=1,
        breaker_threshold=3,
        breaker_cooldown_s=60,
    )
    return [
        GenerationRequest(f"q{i}", 0, f"question {i}", "gpt", model, GenerationParams(max_tokens=8))
        for i in range(n)
    ]


def test_a_missing_key_is_an_auth_error_named_in_every_row_and_never_retried(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # no key in the environment: litellm fails before sending anything with a 500 saying
    # "Missing credentials"; that is the user's to fix, not the provider's to retry
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    results = Engine(backoff_base=0.0).run(_unreachable(6))
    assert [r.error_type for r in results] == ["auth"] * 6
    assert [r.attempts for r in results] == [1] * 6
    for row in results:
        assert "Missing credentials" in (row.error or "")
        assert "set the provider's key variable" in (row.error or "")


def test_an_open_breaker_names_the_first_underlying_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key-0000")
    engine = Engine(backoff_base=0.0)
    results = engine.run(_unreachable(6))
    refused = [r for r in results if r.error_type == "circuit_open"]
    assert refused and len(refused) >= 4  # every row after the breaker opened
    for row in refused:
        assert "circuit breaker open for openai/gpt-4o-mini after 3 consecutive failures" in (
            row.error or ""
        )
        assert "connection error" in (row.error or "").lower()  # the real cause, in `error`
    assert pd.DataFrame([r.row() for r in results])["error"].str.lower().str.contains(
        "connection error"
    ).all()
    [state] = engine.breakers().values()
    assert "connection error" in str(state["first_error"]).lower()
    assert "connection error" in state["events"][0].lower()  # the "open: ..." event


def test_the_first_error_is_redacted_kept_and_forgotten_on_success(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    breaker = CircuitBreaker("m", threshold=2, cooldown_s=60)
    breaker.failure("server: boom with sk-abcdefghijklmnopqrstuvwxyz0123456789")
    breaker.failure("server: a later error")
    assert breaker.state == "open"
    assert "boom" in breaker.reason() and "later" not in breaker.reason()
    assert "sk-abcdefghijklmnopqrstuvwxyz0123456789" not in breaker.reason()
    breaker.success()
    assert breaker.first_error is None
    breaker.failure()  # no error text: the message stays as it was
    assert "the first" not in breaker.reason()
