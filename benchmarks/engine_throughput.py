"""Engine throughput against the provider simulator (a separate process), with baselines
measured in the same run.

1. 4,000 requests, 0.2 s latency, 64 in flight: the engine ÷ a bare ``asyncio.gather`` of
   ``litellm.acompletion`` under a semaphore, and ÷ the ideal (64 / 0.2 s = 320 req/s).
2. 10% 429s and an rpm limit: every request completes; the observed rate never exceeds rpm.
3. A fully cached re-run: wall time ÷ the first run's.
4. 100,000 requests through the engine (in-memory client, no HTTP): peak RSS.

    python benchmarks/engine_throughput.py [--n 4000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("OPENAI_API_KEY", "sk-benchmark-not-a-key")

import litellm

from llmlab_pipelines.engine import Completion, Engine, GenerationRequest, ResponseCache
from llmlab_pipelines.lab import GenerationParams, ModelConfig

LATENCY, INFLIGHT = 0.2, 64


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_simulator(*args: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "llmlab_pipelines.testing.simulator", "--port", str(port), *args],
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(f"{url}/health", timeout=1)
            return proc, f"{url}/v1"
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("simulator did not start")


def stats(base: str) -> dict[str, int]:
    with urllib.request.urlopen(base.removesuffix("/v1") + "/stats") as r:
        return json.loads(r.read())  # type: ignore[no-any-return]


def requests_for(base: str, n: int, tag: str, **config: object) -> list[GenerationRequest]:
    model = ModelConfig(model="openai/sim", api_base=base, concurrency=INFLIGHT, **config)  # type: ignore[arg-type]
    return [
        GenerationRequest(
            f"{tag}{i}",
            0,
            f"{tag} {i}: what is {i % 10} + 1?",
            "sim",
            model,
            GenerationParams(max_tokens=8),
        )
        for i in range(n)
    ]


async def bare_litellm(base: str, n: int) -> float:
    sem = asyncio.Semaphore(INFLIGHT)

    async def one(i: int) -> None:
        async with sem:
            await litellm.acompletion(
                model="openai/sim",
                api_base=base,
                max_retries=0,
                messages=[{"role": "user", "content": f"bare {i}: 1 + 1?"}],
                max_tokens=8,
            )

    start = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    return time.perf_counter() - start


def timed(engine: Engine, requests: list[GenerationRequest]) -> tuple[float, int]:
    start = time.perf_counter()
    results = engine.run(requests)
    return time.perf_counter() - start, sum(r.ok for r in results)


class NullClient:
    """Answers at once: isolates the engine's own memory and CPU."""

    async def complete(self, request: GenerationRequest) -> Completion:
        await asyncio.sleep(0)
        return Completion(text="ok", prompt_tokens=5, completion_tokens=1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--memory-n", type=int, default=100_000)
    args = parser.parse_args()
    n = args.n
    proc, base = start_simulator("--latency", str(LATENCY))
    try:
        asyncio.run(bare_litellm(base, 200))  # warm-up: imports, connection pool
        bare_s = asyncio.run(bare_litellm(base, n))
        with tempfile.TemporaryDirectory() as tmp:
            cache = Path(tmp) / "cache"
            eng_s, ok = timed(Engine(cache=ResponseCache(cache)), requests_for(base, n, "e"))
            cached_s, _ = timed(Engine(cache=ResponseCache(cache)), requests_for(base, n, "e"))
        ideal = INFLIGHT / LATENCY
        print(f"{n} requests, latency {LATENCY}s, {INFLIGHT} in flight (ideal {ideal:.0f} req/s)")
        print(f"  bare litellm gather : {n / bare_s:7.1f} req/s")
        print(f"  engine (cache on)   : {n / eng_s:7.1f} req/s, {ok} ok")
        print(
            f"  engine ÷ bare litellm: {bare_s / eng_s:.3f}   engine ÷ ideal: "
            f"{n / eng_s / ideal:.3f}   bare ÷ ideal: {n / bare_s / ideal:.3f}"
        )
        print(f"  fully cached re-run: {cached_s:.2f} s = {cached_s / eng_s:.4f} of the first run")
    finally:
        proc.terminate()
        proc.wait()

    rpm = 3000
    proc, base = start_simulator("--latency", "0.05", "--rate-429", "0.1")
    try:
        requests = requests_for(base, 600, "r", rpm=rpm, max_retries=8)
        engine = Engine(cache=None, backoff_base=0.05)
        start = time.perf_counter()
        results = engine.run(requests)
        wall = time.perf_counter() - start
        seen = stats(base)
        print(
            f"10% 429s, rpm {rpm}: {sum(r.ok for r in results)}/600 ok, "
            f"{seen['requests']} HTTP requests in {wall:.1f} s = "
            f"{seen['requests'] / wall * 60:.0f} per minute (limit {rpm}; ratio "
            f"{seen['requests'] / wall * 60 / rpm:.3f})"
        )
    finally:
        proc.terminate()
        proc.wait()

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    model = ModelConfig(model="openai/null", concurrency=256)
    many = [
        GenerationRequest(f"m{i}", 0, f"m {i}", "null", model, GenerationParams())
        for i in range(args.memory_n)
    ]
    start = time.perf_counter()
    Engine(NullClient(), cache=None).run(many)
    wall = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        f"{args.memory_n:,} requests through the engine (null client): {wall:.1f} s "
        f"({args.memory_n / wall:,.0f} req/s of engine overhead), peak RSS {peak / 1024:.0f} MB "
        f"(+{(peak - before) / 1024:.0f} MB over the process before)"
    )


if __name__ == "__main__":
    main()
