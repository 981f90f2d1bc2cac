"""Faults against real processes: a `kill -9` mid-run, a provider storm. Whatever happens,
finished work stays saved, re-runs do not pay twice, and failures say why."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from llmlab_pipelines.lab import load_lab
from llmlab_pipelines.runner import RunFailed, run_lab
from llmlab_pipelines.settings import get_settings
from llmlab_pipelines.testing import Simulator, SimulatorConfig, arithmetic_responder

pytestmark = [pytest.mark.reliability, pytest.mark.integration]
ROOT = Path(__file__).resolve().parents[2]
CONCURRENCY = 8
CHILD = (
    "import sys\nfrom llmlab_pipelines.cli import main\n"
    "raise SystemExit(main(['run', '--lab', sys.argv[1]]))\n"
)


def sim_lab(root: Path, sim: Simulator, n: int = 200) -> Path:
    for folder in ("prompts", "datasets", "experiments"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    (root / "models.yaml").write_text(
        f"sim:\n  model: openai/sim\n  api_base: {sim.base_url}\n  api_key_env: SIM_API_KEY\n"
        f"  temperature: 0\n  max_tokens: 8\n  concurrency: {CONCURRENCY}\n  max_retries: 6\n"
    )
    for name in ("zero_shot", "few_shot"):
        (root / "prompts" / f"{name}.jinja").write_text(
            (ROOT / "lab" / "prompts" / f"{name}.jinja").read_text()
        )
    lines = (ROOT / "lab" / "datasets" / "arithmetic.jsonl").read_text().splitlines()[:n]
    (root / "datasets" / "arithmetic.jsonl").write_text("\n".join(lines) + "\n")
    (root / "experiments" / "arith.yaml").write_text(
        "dataset: arithmetic\nprompts: [zero_shot, few_shot]\nmodels: [sim]\n"
        "metrics: [numeric_match]\nbaseline: zero_shot@sim\n"
    )
    return root


def start_run(root: Path) -> subprocess.Popen[str]:
    """`llmlab run` on the lab in its own process group (so `killpg` takes every child)."""
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(root)],
        env={**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )


def distinct_prompts(root: Path) -> set[str]:
    lab = load_lab(root)
    return {
        lab.prompts[c.prompt].render(r)
        for c in lab.candidates("arith")
        for r in lab.datasets["arithmetic"].records
    }


def generations_files() -> list[Path]:
    return sorted((Path(get_settings().artifacts) / "generations").rglob("*.parquet"))


def test_kill_9_during_generations_then_rerun_every_row_once_no_double_pay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIM_API_KEY", "sk-sim-not-secret")
    with Simulator(SimulatorConfig(latency_s=0.05, responder=arithmetic_responder)) as sim:
        root = sim_lab(tmp_path / "lab", sim)
        child = start_run(root)
        deadline = time.monotonic() + 120
        while sim.total_successes < 40 and time.monotonic() < deadline:
            time.sleep(0.01)
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
        paid_before = sim.total_successes
        distinct = distinct_prompts(root)
        assert 40 <= paid_before < len(distinct), "the run must die mid-generations"

        summary = run_lab(load_lab(root), echo=lambda _: None)
        assert set(summary.leaderboards) == {"arith"}
        twice = [p for p in distinct if sim.successes(p) > 1]
        assert all(sim.successes(p) >= 1 for p in distinct)
        # only calls in flight at the kill can be paid twice (the provider answered, the
        # killed process never heard back)
        assert len(twice) <= CONCURRENCY
        print(f"kill -9 after {paid_before} paid calls: {len(twice)} paid twice (in flight)")
        files = generations_files()
        assert len(files) == 2
        for file in files:
            frame = pd.read_parquet(file)  # readable: writes are atomic
            assert len(frame) == 200 and not frame.duplicated(["item_id", "repeat"]).any()
            assert frame["error"].isna().all()
        client = MlflowClient(get_settings().mlflow_uri)
        experiment = client.get_experiment_by_name("arith")
        assert experiment is not None
        runs = client.search_runs([experiment.experiment_id])
        children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
        assert len(children) == 2  # one per candidate: the killed run left no half-logged copy


def test_a_provider_storm_fails_clearly_keeps_rows_and_the_calm_rerun_pays_only_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIM_API_KEY", "sk-sim-not-secret")
    storm = SimulatorConfig(
        responder=arithmetic_responder,
        rate_429=0.5,
        retry_after_s=0.01,
        rate_5xx=0.2,
        rate_malformed=0.1,
        rate_empty=0.05,
        rate_timeout=0.05,  # hung connections: the reply comes after the client gave up
        timeout_s=8.0,
        seed=7,
    )
    with Simulator(storm) as sim:
        root = sim_lab(tmp_path / "lab", sim, n=80)
        lines = root / "models.yaml"
        lines.write_text(
            # `timeout` is a wall-clock deadline that includes the client's own start-up
            # (~3 s for the first calls on a loaded 2-core machine): 1 s would cut answered calls
            lines.read_text().replace("max_retries: 6", "max_retries: 1\n  timeout: 5")
        )
        try:
            run_lab(load_lab(root), echo=lambda _: None)
            failed = None
        except RunFailed as exc:
            failed = str(exc)
        frames = [pd.read_parquet(f) for f in generations_files()]
        assert frames, "the storm run saved its rows"
        errors = pd.concat(frames)
        errors = errors[errors["error"].notna()]
        if failed is not None:  # a clear reason: the rate and the kinds of error
            assert "error rate" in failed and any(
                kind in failed
                for kind in ("rate_limit", "server", "malformed", "empty", "connection", "timeout")
            ), failed
        assert all(len(f) == 80 for f in frames)  # every row there, failed ones say why
        assert errors["error_type"].notna().all()

        sim.config = dataclasses.replace(  # the storm passes
            sim.config,
            rate_429=0.0,
            rate_5xx=0.0,
            rate_malformed=0.0,
            rate_empty=0.0,
            rate_timeout=0.0,
        )
        time.sleep(storm.timeout_s + 0.5)  # replies to hung calls land late: let them
        before = sim.total_successes
        summary = run_lab(load_lab(root), echo=lambda _: None)
        assert set(summary.leaderboards) == {"arith"}
        assert all(pd.read_parquet(f)["error"].isna().all() for f in generations_files())
        # the calm re-run asks only what the storm left unanswered (failed rows, partitions it
        # never reached), once per distinct prompt; nothing that already had its answer
        answered = set(pd.concat(frames).query("error.isna()", engine="python")["prompt"])
        wanted = distinct_prompts(root) - answered
        assert sim.total_successes - before == len(wanted) > 0


def test_two_runs_of_the_same_partitions_at_once_pay_once_and_corrupt_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIM_API_KEY", "sk-sim-not-secret")
    with Simulator(SimulatorConfig(latency_s=0.02, responder=arithmetic_responder)) as sim:
        root = sim_lab(tmp_path / "lab", sim, n=120)
        env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
        runs = [
            subprocess.Popen(
                [sys.executable, "-c", CHILD, str(root)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        errors = [run.communicate(timeout=600)[1] for run in runs]
        failures = [
            e[e.rfind("Error") - 200 :][:1500]
            for e, r in zip(errors, runs, strict=True)
            if r.returncode
        ]
        assert not failures, failures
        distinct = distinct_prompts(root)
        # each call paid once: the second run waited for the partition's lock, then read
        # every answer from the cache
        assert all(sim.successes(p) == 1 for p in distinct)
        assert sim.total_successes == len(distinct)
        for file in generations_files():
            frame = pd.read_parquet(file)
            assert len(frame) == 120 and not frame.duplicated(["item_id", "repeat"]).any()


def test_mlflow_down_fails_clearly_in_bounded_time_and_the_next_run_picks_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIM_API_KEY", "sk-sim-not-secret")
    with Simulator(SimulatorConfig(responder=arithmetic_responder)) as sim:
        root = sim_lab(tmp_path / "lab", sim, n=40)
        with monkeypatch.context() as down:
            down.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")  # nothing listens there
            down.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
            down.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
            started = time.monotonic()
            with pytest.raises(RunFailed) as info:
                run_lab(load_lab(root), echo=lambda _: None)
            assert time.monotonic() - started < 120  # bounded retries, then the failure
        message = str(info.value)
        assert "leaderboard for arithmetic failed" in message
        assert "127.0.0.1:9" in message  # says what it could not reach
        paid = sim.total_successes
        assert paid == len(distinct_prompts(root))  # every generation was made and kept

        summary = run_lab(load_lab(root), echo=lambda _: None)  # MLflow back (local store)
        assert set(summary.leaderboards) == {"arith"}
        assert sim.total_successes == paid  # picked up where it stopped: nothing paid again


def test_kill_9_during_judging_then_rerun_pays_judges_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "judges"))
    from judge_helpers import judge_reply, responder, write_judged_lab

    monkeypatch.setenv("SIM_API_KEY", "sk-sim-not-secret")
    with Simulator(SimulatorConfig(latency_s=0.05, responder=responder)) as sim:

        def judge_calls() -> dict[str, int]:
            with sim._counters.lock:
                seen = dict(sim._counters.successes)
            return {p: n for p, n in seen.items() if judge_reply(p) is not None}

        root = write_judged_lab(tmp_path / "lab", sim)
        child = start_run(root)
        deadline = time.monotonic() + 180
        while len(judge_calls()) < 15 and time.monotonic() < deadline:
            time.sleep(0.01)
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
        before = judge_calls()
        assert len(before) >= 15, "the run must die while judging"

        run_lab(load_lab(root), echo=lambda _: None)
        after = judge_calls()
        assert len(after) > len(before)  # the re-run finished the judging
        twice = [p for p, n in after.items() if n > 1]
        assert len(twice) <= CONCURRENCY  # only the calls in flight at the kill
        files = sorted((Path(get_settings().artifacts) / "judge_scores").rglob("*.parquet"))
        assert len(files) == 2
        for file in files:
            frame = pd.read_parquet(file)
            keys = ["item_id", "repeat", "judge", "judge_repeat", "dimension"]
            assert len(frame) and not frame.duplicated(keys).any()


WRITER = """
import sys
from upath import UPath
from llmlab_pipelines.resources.artifacts import write_atomic
write_atomic(UPath(sys.argv[1]), b"x" * (400 * 1024 * 1024))
"""


def test_kill_9_during_an_artifact_write_leaves_the_previous_file_whole(tmp_path: Path) -> None:
    from upath import UPath

    from llmlab_pipelines.resources.artifacts import write_atomic

    target = tmp_path / "generations" / "p.parquet"
    before = pd.DataFrame({"item_id": ["a", "b"], "output": ["1", "2"]})
    write_atomic(UPath(target), before.to_parquet(index=False))
    child = subprocess.Popen([sys.executable, "-c", WRITER, str(target)])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # kill once the new bytes are being written
        partial = list(target.parent.glob(".p.parquet.*.tmp"))
        if partial and partial[0].stat().st_size > 0:
            break
        time.sleep(0.001)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert partial, "the writer must die mid-write"
    pd.testing.assert_frame_equal(pd.read_parquet(target), before)  # old version, whole
    assert sorted(p.name for p in target.parent.glob("*.parquet")) == ["p.parquet"]
