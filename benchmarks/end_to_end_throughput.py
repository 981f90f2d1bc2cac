"""``llmlab run`` end to end against its baselines, measured in the same run.

A lab of 2 candidates (two prompts, one OpenAI-compatible model) x ``--items`` items runs through
the CLI as a user runs it (``python -m llmlab_pipelines.cli run``, a fresh process and state
folder: Dagster jobs in-process, response cache, Parquet, MLflow), against the provider simulator
(a separate process, 0.2 s latency), at 64 and at 256 in flight (the model's ``concurrency``).
The same number of calls goes through the two baselines of ``openai_fast_path.py``: a raw
aiohttp loop and a bare ``asyncio.gather`` of ``litellm.acompletion``, at the same concurrency.

Throughput is counted at the simulator, from the first to the last arrival of each method's
requests ((n - 1) / span), so the CLI's start-up and the analysis after the last call are not
in it (its whole wall time is printed beside). The largest gap between two arrivals shows
what stalls between the partitions.

    python benchmarks/end_to_end_throughput.py [--items 2000] [--profile]

``--profile`` runs the same lab once more in this process (``run_lab``) under cProfile and
prints the hottest functions by cumulative time.

Measured 2026-12-05 on the shared 2-core machine (load average 2.5 before, 1.3 after):

    in flight  raw aiohttp  bare litellm  llmlab run  ÷ bare  ÷ raw   gap between partitions
    64         315 req/s    149           284         1.91    0.902   1.42 s
    256        1,296        206           893         4.35    0.689   1.20 s

Under load 5.5-6.2 the same script gave 186 and 356 req/s (gaps 5.4-5.8 s). A sampling profile
of the gap: ~80 % is Dagster's event log on SQLite (every event a connect, commit and close:
~20 ms a commit on this disk): the first run's remaining events and its scores step, the
second run's creation and start-up. Running partitions in threads to overlap them deadlocks in
Dagster's logging set-up (``logging.config.dictConfig`` at each run's start), so it is not done.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import logging
import os
import pstats
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("OPENAI_API_KEY", "sk-benchmark-not-a-key")

import itertools

from engine_throughput import start_simulator  # type: ignore[import-not-found]
from openai_fast_path import bare_litellm, raw_aiohttp  # type: ignore[import-not-found]

ROOT = Path(__file__).resolve().parents[1]
LATENCY = 0.2


def arrivals(base: str, since: int) -> list[float]:
    """Arrival times (monotonic s) of the simulator's requests ``since`` onwards."""
    url = base.removesuffix("/v1") + f"/stats?arrivals={since}"
    with urllib.request.urlopen(url) as reply:
        return list(json.loads(reply.read())["arrivals"])


def requests_seen(base: str) -> int:
    with urllib.request.urlopen(base.removesuffix("/v1") + "/stats") as reply:
        return int(json.loads(reply.read())["requests"])


def expr(i: int) -> dict[str, str]:
    return {"expression": f"{i} + {i % 7}", "expected": str(i + i % 7)}


def write_lab(root: Path, base: str, items: int, inflight: int, tag: str) -> Path:
    """Two candidates (zero- and few-shot) of one model on ``items`` arithmetic items."""
    for folder in ("prompts", "datasets", "experiments"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    (root / "models.yaml").write_text(
        f"sim:\n  model: openai/sim\n  api_base: {base}\n  api_key_env: OPENAI_API_KEY\n"
        f"  max_tokens: 8\n  concurrency: {inflight}\n"
    )
    for name in ("zero_shot", "few_shot"):
        text = (ROOT / "lab" / "prompts" / f"{name}.jinja").read_text()
        (root / "prompts" / f"{name}.jinja").write_text(text)
    rows = (
        {"id": f"{tag}-{i}", "question": f"What is {i} + {i % 7}?", **expr(i)} for i in range(items)
    )
    (root / "datasets" / "arithmetic.jsonl").write_text(
        "".join(json.dumps(row) + "\n" for row in rows)
    )
    (root / "experiments" / "arith.yaml").write_text(
        "dataset: arithmetic\nprompts: [zero_shot, few_shot]\nmodels: [sim]\n"
        "metrics: [numeric_match]\nbaseline: zero_shot@sim\n"
    )
    return root


def cli_run(lab: Path, home: Path) -> float:
    """``llmlab run --lab lab`` in a fresh process and state folder; its wall time."""
    env = {**os.environ, "LLMLAB_HOME": str(home), "DAGSTER_HOME": str(home / "dagster")}
    for name in ("LLMLAB_ARTIFACTS", "MLFLOW_TRACKING_URI"):
        env.pop(name, None)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "llmlab_pipelines.cli", "run", "--lab", str(lab)],
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - start
    if done.returncode:
        raise RuntimeError(f"llmlab run failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return wall


def at_simulator(base: str, run: Callable[[], object]) -> tuple[float, float, int]:
    """(req/s first to last arrival, largest gap between two arrivals, requests) of ``run``."""
    before = requests_seen(base)
    run()
    times = sorted(arrivals(base, before))
    span = times[-1] - times[0]
    gap = max(b - a for a, b in itertools.pairwise(times))
    return (len(times) - 1) / span, gap, len(times)


def measure(base: str, tmp: Path, items: int, inflight: int) -> None:
    n = 2 * items
    asyncio.run(raw_aiohttp(base, 2 * inflight, inflight))  # warm-ups: pools, first calls
    asyncio.run(bare_litellm(base, 2 * inflight, inflight))
    rows: dict[str, tuple[float, float, int]] = {
        "raw aiohttp": at_simulator(base, lambda: asyncio.run(raw_aiohttp(base, n, inflight))),
        "bare litellm": at_simulator(base, lambda: asyncio.run(bare_litellm(base, n, inflight))),
    }
    lab = write_lab(tmp / f"lab{inflight}", base, items, inflight, f"e{inflight}")
    walls: list[float] = []
    rows["llmlab run"] = at_simulator(
        base, lambda: walls.append(cli_run(lab, tmp / f"state{inflight}"))
    )
    ideal = inflight / LATENCY
    print(f"{n} calls (2 candidates x {items} items), {inflight} in flight (ideal {ideal:.0f}/s)")
    for name, (rate, gap, seen) in rows.items():
        print(
            f"  {name:13}: {rate:7.1f} req/s at the simulator = {rate / ideal:.3f} of ideal; "
            f"{seen} requests, largest arrival gap {gap:.2f} s"
        )
    e2e = rows["llmlab run"][0]
    print(
        f"  llmlab run ÷ bare litellm {e2e / rows['bare litellm'][0]:.2f}, "
        f"÷ raw aiohttp {e2e / rows['raw aiohttp'][0]:.3f}; the command's whole wall time "
        f"{walls[0]:.1f} s (start-up, datasets, 2 generation runs, analysis, costs)"
    )


def profile(base: str, tmp: Path, items: int, inflight: int) -> None:
    """cProfile of ``run_lab`` on the same lab, in this process (by cumulative time)."""
    os.environ["LLMLAB_HOME"] = str(tmp / "profile_state")
    os.environ["DAGSTER_HOME"] = str(tmp / "profile_state" / "dagster")
    from llmlab_pipelines.lab import load_lab
    from llmlab_pipelines.runner import run_lab

    lab = load_lab(write_lab(tmp / "profile_lab", base, items, inflight, "p"))
    profiler = cProfile.Profile()
    before = requests_seen(base)
    start = time.perf_counter()
    profiler.runcall(run_lab, lab, echo=lambda _: None, log_level="WARNING")
    wall = time.perf_counter() - start
    times = sorted(arrivals(base, before))
    print(
        f"profile ({inflight} in flight): run_lab {wall:.1f} s; calls from "
        f"{times[0] - times[0]:.1f} to {times[-1] - times[0]:.1f} s after the first"
    )
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(45)
    print("\n".join("    " + line for line in text.getvalue().splitlines()[6:60]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--inflight", type=int, action="append", help="default: 64 and 256")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)  # litellm's unclosed pools
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} before the run")
    proc, base = start_simulator("--latency", str(LATENCY))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for inflight in args.inflight or [64, 256]:
                measure(base, Path(tmp), args.items, inflight)
            if args.profile:
                profile(base, Path(tmp), args.items, (args.inflight or [64])[0])
    finally:
        proc.terminate()
        proc.wait()
    print(f"load average {os.getloadavg()[0]:.2f} after the run")


if __name__ == "__main__":
    main()
