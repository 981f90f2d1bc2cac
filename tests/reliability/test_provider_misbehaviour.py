"""A provider that misbehaves over real HTTP (the simulator): an hour-long Retry-After, a reply
trickled byte by byte, a 5 MB reply to ``max_tokens: 16``, a storm of 429s. Each costs bounded
time and bounded storage, and a run that leaves items unanswered says so and exits non-zero."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from llmlab_pipelines.cli import main
from llmlab_pipelines.engine import Engine, GenerationRequest, GenerationResult, ResponseCache
from llmlab_pipelines.engine._runner import _engine_loop
from llmlab_pipelines.lab import GenerationParams, ModelConfig
from llmlab_pipelines.runner import dagster_instance
from llmlab_pipelines.settings import get_settings
from llmlab_pipelines.testing import Simulator, SimulatorConfig, arithmetic_responder

pytestmark = [pytest.mark.reliability, pytest.mark.integration]


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-sim-not-a-real-key-000")
    monkeypatch.setenv("SIM_API_KEY", "sk-sim-not-a-real-key-000")


def requests_for(sim: Simulator, n: int, **config: object) -> list[GenerationRequest]:
    model = ModelConfig(model="openai/sim", api_base=sim.base_url, **config)  # type: ignore[arg-type]
    return [
        GenerationRequest(
            f"q{i}", 0, f"q{i}: what is {i} + 1?", "sim", model, GenerationParams(max_tokens=16)
        )
        for i in range(n)
    ]


def run_within(
    engine: Engine, requests: Sequence[GenerationRequest], seconds: float
) -> tuple[list[GenerationResult], float]:
    """The engine's run and its wall time; fails the test (cancelling the run) past ``seconds``."""
    started = time.monotonic()
    future = asyncio.run_coroutine_threadsafe(
        asyncio.wait_for(engine.arun(requests), seconds), _engine_loop()
    )
    try:
        results = future.result()
    except TimeoutError:
        pytest.fail(f"the run was still going after {seconds}s")
    return results, time.monotonic() - started


def test_an_hour_long_retry_after_is_capped_logged_and_noted_on_the_row(
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = SimulatorConfig(
        rate_limit_first_n=2, retry_after_s=3600, responder=arithmetic_responder
    )
    with Simulator(config) as sim:
        engine = Engine(backoff_base=0.01, backoff_cap=0.5, retry_after_cap=1.0)
        with caplog.at_level(logging.WARNING, logger="llmlab_pipelines.engine"):
            (result,), elapsed = run_within(engine, requests_for(sim, 1), 30)
    print(f"Retry-After 3600 twice, cap 1 s: answered after {elapsed:.2f}s")
    assert result.ok and result.output == "1" and result.attempts == 3
    assert 2 * 1.0 <= elapsed < 2 * 1.0 + 3  # two waits of the cap, not two hours
    assert result.retry_after_capped_s == 3600
    assert "asked to wait 3600s (Retry-After)" in caplog.text and "retry_after_cap" in caplog.text


def test_a_provider_that_keeps_asking_to_wait_an_hour_is_given_up_on_after_the_patience() -> None:
    config = SimulatorConfig(rate_limit_first_n=10_000, retry_after_s=3600)
    with Simulator(config) as sim:
        engine = Engine(
            backoff_base=0.01, backoff_cap=0.5, retry_after_cap=0.5, rate_limit_patience_s=2.0
        )
        (result,), elapsed = run_within(engine, requests_for(sim, 1, max_retries=0), 30)
    print(f"Retry-After 3600 for ever, patience 2 s, cap 0.5 s: gave up after {elapsed:.2f}s")
    assert result.error_type == "rate_limit" and "rate_limit_patience_s" in (result.error or "")
    assert result.attempts >= 4  # rate limits are not failures: max_retries 0 did not stop it
    assert 2.0 <= elapsed < 2.0 + 0.5 + 2
    assert result.retry_after_capped_s == 3600


def test_a_slow_loris_reply_is_cut_at_the_timeout_as_a_wall_clock_deadline() -> None:
    # headers at once, then one byte every 0.5 s: every read is quick, the reply takes minutes
    config = SimulatorConfig(rate_trickle=1.0, trickle_interval_s=0.5)
    with Simulator(config) as sim:
        requests = requests_for(sim, 1, timeout=5, max_retries=0)
        (result,), elapsed = run_within(Engine(), requests, 30)
    print(f"slow-loris reply, timeout 5: the attempt ended after {elapsed:.2f}s")
    assert result.error_type == "timeout" and "within 5s" in (result.error or "")
    assert 5 <= elapsed < 6.5


def test_a_5_mb_reply_is_stored_cut_and_marked(tmp_path: Path) -> None:
    with Simulator(SimulatorConfig(reply_chars=5_000_000)) as sim:
        engine = Engine(cache=ResponseCache(tmp_path / "cache"), max_output_chars=100_000)
        results, _ = run_within(engine, requests_for(sim, 4), 60)
        again, _ = run_within(
            Engine(cache=ResponseCache(tmp_path / "cache")), requests_for(sim, 4), 60
        )
    stored = sum(f.stat().st_size for f in (tmp_path / "cache").glob("*.jsonl"))
    print(f"4 replies of 5,000,000 chars: {stored:,} bytes in the cache")
    assert all(r.ok and r.output_truncated for r in results)
    assert all(len(r.output or "") < 100_200 for r in results)
    assert all(
        "[llmlab: reply cut: 5,000,000 characters, kept 100,000]" in (r.output or "")
        for r in results
    )
    assert stored < 4 * 101_000
    assert all(r.cached and r.output_truncated for r in again)  # the flag survives the cache


# -- whole runs, through `llmlab run` --------------------------------------------------------


def write_lab(root: Path, sim: Simulator, n: int, model_lines: str = "") -> Path:
    for folder in ("prompts", "datasets", "experiments"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    (root / "models.yaml").write_text(
        f"sim:\n  model: openai/sim\n  api_base: {sim.base_url}\n  api_key_env: SIM_API_KEY\n"
        f"  temperature: 0\n  max_tokens: 16\n  concurrency: 16\n{model_lines}"
    )
    for name in ("ask", "terse"):  # two candidates: a leaderboard compares at least two
        (root / "prompts" / f"{name}.jinja").write_text(f"{name}: {{{{ question }}}}\nAnswer:")
    items = [
        {"id": f"a{i:04d}", "question": f"What is {i} + {i % 9}?", "expected": str(i + i % 9)}
        for i in range(n)
    ]
    (root / "datasets" / "sums.jsonl").write_text("".join(json.dumps(r) + "\n" for r in items))
    (root / "experiments" / "sums.yaml").write_text(
        "dataset: sums\nprompts: [ask, terse]\nmodels: [sim]\nmetrics: [numeric_match]\n"
        "baseline: ask@sim\n"
    )
    return root


def generations() -> pd.DataFrame:
    files = sorted((Path(get_settings().artifacts) / "generations").rglob("*.parquet"))
    return pd.concat([pd.read_parquet(f) for f in files])


def test_a_30_percent_429_storm_of_600_calls_leaves_none_unanswered_and_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    storm = SimulatorConfig(
        responder=arithmetic_responder, rate_429=0.3, retry_after_s=0.01, seed=3
    )
    with Simulator(storm) as sim:
        root = write_lab(tmp_path / "lab", sim, 300, "  max_retries: 2\n")  # x 2 prompts
        started = time.monotonic()
        code = main(["run", "--lab", str(root)])
        elapsed = time.monotonic() - started
        rows = generations()
        print(
            f"429 storm (30%), 600 calls: {int(rows['error'].notna().sum())} unanswered, "
            f"exit {code}, {sim.total_requests} requests, {elapsed:.0f}s"
        )
        assert sim.total_requests > 600 * 1.3  # the storm happened
    assert len(rows) == 600 and rows["error"].isna().all()
    assert code == 0, capsys.readouterr().err


def test_a_run_that_leaves_items_unanswered_exits_non_zero_and_the_rerun_fills_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flaky = SimulatorConfig(responder=arithmetic_responder, rate_5xx=0.06, seed=5)
    with Simulator(flaky) as sim:
        root = write_lab(tmp_path / "lab", sim, 60, "  max_retries: 0\n")  # x 2 prompts
        code = main(["run", "--lab", str(root)])
        err = capsys.readouterr().err
        unanswered = int(generations()["error"].notna().sum())
        print(f"{unanswered} of 120 unanswered (under max_error_rate): exit {code}")
        assert 0 < unanswered < 12  # under the error-rate check's 20 %: it alone would pass
        assert code == 1
        assert f"{unanswered} items unanswered (ask@sim on sums: " in err
        assert "Re-run to fill them" in err

        sim.config = dataclasses.replace(sim.config, rate_5xx=0.0)
        before = sim.total_requests
        assert main(["run", "--lab", str(root)]) == 0
        assert sim.total_requests - before == unanswered
        assert generations()["error"].isna().all()


def test_huge_replies_stay_out_of_the_event_log(tmp_path: Path) -> None:
    with Simulator(SimulatorConfig(reply_chars=5_000_000)) as sim:
        root = write_lab(tmp_path / "lab", sim, 2)  # x 2 prompts
        main(["run", "--lab", str(root)])
    rows = generations()
    stored = int(rows["output"].str.len().sum())
    instance = dagster_instance()
    records = instance.fetch_materializations(dg.AssetKey("generations"), limit=10).records
    preview = "".join(
        str(r.asset_materialization.metadata["preview"].value)  # type: ignore[union-attr]
        for r in records
    )
    print(f"4 replies of 5 MB: {stored:,} chars stored, a {len(preview):,}-char preview")
    assert rows["output_truncated"].all() and stored < 4 * 100_200
    assert 0 < len(preview) < 4_000
