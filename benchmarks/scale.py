"""The whole graph at scale: wall time per step, peak RSS per step, bytes written.

A lab of 2 candidates x N items (2 prompts, one OpenAI-compatible model, ``numeric_match``)
runs through ``run_lab`` (what ``llmlab run`` does: datasets, generations, scores,
comparisons, leaderboard with its MLflow logging, costs) against the provider simulator (a
separate process, no latency, 256 in flight). Each size runs in a fresh child process with its
own state folder, so one size's memory never shows in another's.

Measured inside the child: the wall time of every Dagster step (from the instance's step
stats), the peak RSS while each step ran (``/proc/self/statm`` sampled every 10 ms by a
thread: resident set of the whole process, imports and earlier steps included; and how far it
rose above its value when the step began: the step's own growth), the process's
``ru_maxrss``, and the bytes each store holds afterwards (Parquet artifacts with the response
cache, MLflow, Dagster's event log). Then ``stats.compare`` alone on the same shape
(two candidates x N items): seconds a call.

Prints one table per size and the ratios of the last size to the first: a step whose time
grows faster than the items has ratio above items ratio; generation peak RSS should stay flat.

    python benchmarks/scale.py [--sizes 10000 100000]

Measured 2026-12-05 on the shared 2-core machine (load average 3.4-4.1, tests running beside),
10,000 then 100,000 items: ``run_lab`` 75 s then 249 s; generations 31 s then 191 s (6.2 x for
10 x the items), scores 2.4 x, comparisons 3.6 x, leaderboard (MLflow) 1.0 x; artifacts 9.4 then
92 MB; generation peak RSS 678 then 1,369 MB (the step's own growth +61 then +318 MB: not flat,
the requests, the results and the table are still held whole); ``stats.compare`` 0.015 then
0.323 s a call.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("OPENAI_API_KEY", "sk-benchmark-not-a-key")

from end_to_end_throughput import write_lab  # type: ignore[import-not-found]
from engine_throughput import start_simulator  # type: ignore[import-not-found]

INFLIGHT = 256
PAGE = os.sysconf("SC_PAGE_SIZE")


class RssSampler:
    """The process's resident set, sampled every ``every`` seconds: (time.time(), bytes)."""

    def __init__(self, every: float = 0.01) -> None:
        self.every = every
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with open("/proc/self/statm") as statm:
            while not self._stop.is_set():
                statm.seek(0)
                self.samples.append((time.time(), int(statm.read().split()[1]) * PAGE))
                time.sleep(self.every)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def peak(self, start: float, end: float) -> tuple[int, int]:
        """(peak, peak minus the RSS when the window began) between ``start`` and ``end``."""
        inside = [rss for t, rss in self.samples if start <= t <= end] or [0]
        return max(inside), max(inside) - inside[0]


def folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.exists() else 0


def compare_seconds(items: int) -> float:
    """Seconds of one ``stats.compare`` call on 2 candidates x ``items`` binary scores."""
    import numpy as np
    import pandas as pd

    from llmlab_pipelines.stats import compare

    rng = np.random.default_rng(0)
    scores = pd.DataFrame(
        {
            "item_id": np.tile([f"i{i}" for i in range(items)], 2),
            "candidate": np.repeat(["a", "b"], items),
            "score": (rng.random(2 * items) < np.repeat([0.6, 0.62], items)).astype(float),
        }
    )
    compare(scores, baseline="a")  # warm-up: imports
    start = time.perf_counter()
    compare(scores, baseline="a")
    return time.perf_counter() - start


def child(items: int, base: str, tmp: Path) -> dict[str, object]:
    """One size in this process: the run, its step times and peaks, bytes, compare time."""
    home = tmp / "state"
    os.environ.update(LLMLAB_HOME=str(home), DAGSTER_HOME=str(home / "dagster"))
    import dagster as dg

    from llmlab_pipelines.lab import load_lab
    from llmlab_pipelines.runner import dagster_instance, run_lab

    lab = load_lab(write_lab(tmp / "lab", base, items, INFLIGHT, f"s{items}"))
    instance: dg.DagsterInstance = dagster_instance()
    start = time.time()
    with RssSampler() as rss:
        summary = run_lab(lab, instance=instance, echo=lambda _: None, log_level="WARNING")
    wall = time.time() - start
    steps: list[dict[str, object]] = []
    for run_id in summary.dagster_runs:
        run = instance.get_run_by_id(run_id)
        for step in instance.get_run_step_stats(run_id):
            if step.start_time is None or step.end_time is None:
                continue
            steps.append(
                {
                    "job": run.job_name if run else "?",
                    "partition": (run.tags.get("dagster/partition", "") if run else "")[:12],
                    "step": step.step_key,
                    "seconds": step.end_time - step.start_time,
                    "peak_rss": rss.peak(step.start_time, step.end_time)[0],
                    "growth": rss.peak(step.start_time, step.end_time)[1],
                }
            )
    return {
        "items": items,
        "wall": wall,
        "steps": steps,
        "max_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "bytes": {
            "artifacts (Parquet, reports, cache)": folder_bytes(home / "artifacts"),
            "MLflow": folder_bytes(home / "mlartifacts") + folder_bytes(home / "mlflow.db"),
            "Dagster": folder_bytes(home / "dagster"),
        },
        "compare_s": compare_seconds(items),
    }


def totals(result: dict[str, object]) -> dict[str, tuple[float, int, int]]:
    """Per step (summed over partitions): (seconds, peak RSS, largest growth within a run)."""
    out: dict[str, tuple[float, int, int]] = {}
    for step in result["steps"]:  # type: ignore[attr-defined]
        seconds, peak, growth = out.get(step["step"], (0.0, 0, 0))
        out[step["step"]] = (
            seconds + step["seconds"],
            max(peak, step["peak_rss"]),
            max(growth, step["growth"]),
        )
    return out


def show(result: dict[str, object]) -> None:
    mb = 1 / 2**20
    print(f"{result['items']:,} items x 2 candidates: run_lab {result['wall']:.1f} s")
    for name, (seconds, peak, growth) in totals(result).items():
        print(
            f"  {name:16} {seconds:8.2f} s   peak RSS {peak * mb:6.0f} MB "
            f"(+{growth * mb:4.0f} MB over the step's start)"
        )
    print(f"  process ru_maxrss {result['max_rss'] * mb:.0f} MB")  # type: ignore[operator]
    for store, size in result["bytes"].items():  # type: ignore[attr-defined]
        print(f"  bytes in {store}: {size * mb:.1f} MB")
    print(f"  stats.compare, 2 x {result['items']:,} items: {result['compare_s']:.3f} s a call")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--base", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        with tempfile.TemporaryDirectory() as tmp:
            print(json.dumps(child(args.child, args.base, Path(tmp))))
        return
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} before the run")
    proc, base = start_simulator("--latency", "0")
    results = []
    try:
        for items in args.sizes:
            out = subprocess.run(
                [sys.executable, __file__, "--child", str(items), "--base", base],
                capture_output=True,
                text=True,
            )
            if out.returncode:
                raise RuntimeError(out.stderr[-4000:])
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
            show(results[-1])
    finally:
        proc.terminate()
        proc.wait()
    first, last = results[0], results[-1]
    grow = last["items"] / first["items"]
    print(f"ratios {last['items']:,} ÷ {first['items']:,} items (items ratio {grow:g}):")
    a, b = totals(first), totals(last)
    for name in b:
        if name in a and a[name][0] > 0:
            print(
                f"  {name:16} time {b[name][0] / a[name][0]:6.2f}   "
                f"peak RSS {b[name][1] / a[name][1]:5.2f}   "
                f"growth {b[name][2] / max(a[name][2], 1):5.2f}"
            )
    print(
        f"  run_lab wall {last['wall'] / first['wall']:.2f}; compare "
        f"{last['compare_s'] / first['compare_s']:.2f}; bytes "
        + ", ".join(
            f"{k} {last['bytes'][k] / max(first['bytes'][k], 1):.2f}" for k in first["bytes"]
        )
    )
    print(f"load average {os.getloadavg()[0]:.2f} after the run")


if __name__ == "__main__":
    main()
