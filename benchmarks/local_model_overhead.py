"""Overhead of the engine on the embedded model: engine (litellm custom provider) vs raw llama.cpp.

Both paths complete the same prompts with the same settings, each in a fresh process (llama.cpp's
OpenMP thread team belongs to the calling thread; mixing callers in one process slows both); the
figure is engine req/s ÷ raw llama.cpp req/s (1.0 = no overhead).

    python benchmarks/local_model_overhead.py [--n 60]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from llmlab_pipelines.engine import Engine, GenerationRequest
from llmlab_pipelines.engine._local import load_llama, model_path
from llmlab_pipelines.lab import GenerationParams, ModelConfig, load_lab
from llmlab_pipelines.settings import get_settings

ROOT = Path(__file__).resolve().parent.parent


def prompts(n: int) -> list[str]:
    lab = load_lab(ROOT / "lab")
    prompt = lab.prompts["few_shot"]
    return [prompt.render(r) for r in lab.datasets["arithmetic"].records[:n]]


def raw(texts: list[str], params: GenerationParams) -> tuple[float, int]:
    llama = load_llama(model_path("gemma3-270m", get_settings().models_dir))
    start, tokens = time.perf_counter(), 0
    for text in texts:
        out = llama(text, max_tokens=params.max_tokens, temperature=0.0, stop=params.stop)
        tokens += out["usage"]["completion_tokens"]
    return time.perf_counter() - start, tokens


def engine(texts: list[str], params: GenerationParams) -> tuple[float, int]:
    config = ModelConfig(model="llmlab/gemma3-270m", mode="completion", concurrency=1)
    requests = [
        GenerationRequest(f"i{i}", 0, t, "local", config, params) for i, t in enumerate(texts)
    ]
    start = time.perf_counter()
    results = Engine().run(requests)
    assert all(r.ok for r in results), [r.error for r in results if not r.ok][:3]
    return time.perf_counter() - start, sum(r.completion_tokens for r in results)


def measure(path: str, n: int) -> tuple[float, int]:
    """Time one path in this process, after one warm-up call (the model load)."""
    texts = prompts(n + 1)
    params = GenerationParams(temperature=0, max_tokens=10, stop=["\n"])
    run = raw if path == "raw" else engine
    run(texts[:1], params)
    return run(texts[1:], params)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=60)
    parser.add_argument("--path", choices=["raw", "engine"])
    args = parser.parse_args()
    if args.path:
        seconds, tokens = measure(args.path, args.n)
        print(json.dumps({"seconds": seconds, "tokens": tokens}))
        return
    found = {}
    for path in ("raw", "engine"):
        out = subprocess.run(
            [sys.executable, __file__, "--path", path, "--n", str(args.n)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        found[path] = json.loads(out.strip().splitlines()[-1])
    print(f"prompts: {args.n} (few_shot arithmetic), threads: {len(os.sched_getaffinity(0))}")
    for path, r in found.items():
        print(
            f"{path:7s}: {r['seconds']:6.2f} s, {r['tokens']} completion tokens, "
            f"{r['tokens'] / r['seconds']:5.1f} tok/s, {args.n / r['seconds']:5.2f} req/s"
        )
    print(f"engine ÷ raw (req/s): {found['raw']['seconds'] / found['engine']['seconds']:.3f}")


if __name__ == "__main__":
    main()
