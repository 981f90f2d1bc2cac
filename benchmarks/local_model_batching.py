"""Batched vs one-at-a-time decoding of the embedded model, through the engine, in one run.

The same greedy requests (the sample lab's prompts over its arithmetic and capitals items) go
through the engine with the local model's ``concurrency`` at 1 (one call at a time, today's
path) and at ``--width`` (calls decoded together in one llama.cpp batch). The paths alternate
for ``--rounds`` rounds so a change in machine load hits both; the figure is completion tokens/s
batched ÷ one at a time, and the replies must be identical.

    python benchmarks/local_model_batching.py [--n 40] [--width 4] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from llmlab_pipelines.engine import Engine, GenerationRequest
from llmlab_pipelines.lab import GenerationParams, ModelConfig, load_lab

ROOT = Path(__file__).resolve().parent.parent
PAIRS = [
    ("arithmetic", "few_shot"),
    ("arithmetic", "zero_shot"),
    ("capitals", "few_shot_facts"),
    ("capitals", "zero_shot"),
]


def prompts(n: int) -> list[str]:
    """``n`` rendered prompts, taken in turn from each (dataset, prompt) pair."""
    lab = load_lab(ROOT / "lab")
    rendered = [[lab.prompts[p].render(r) for r in lab.datasets[d].records] for d, p in PAIRS]
    return [rendered[i % len(PAIRS)][i // len(PAIRS)] for i in range(n)]


def generate(texts: list[str], width: int) -> tuple[float, int, list[str]]:
    """Seconds, completion tokens and replies of one pass through the engine."""
    config = ModelConfig(model="llmlab/gemma3-270m", mode="completion", concurrency=width)
    params = GenerationParams(temperature=0, max_tokens=10, stop=["\n"])
    requests = [
        GenerationRequest(f"i{i}", 0, t, "local", config, params) for i, t in enumerate(texts)
    ]
    start = time.perf_counter()
    results = Engine().run(requests)
    seconds = time.perf_counter() - start
    assert all(r.ok for r in results), [r.error for r in results if not r.ok][:3]
    return seconds, sum(r.completion_tokens for r in results), [r.output for r in results]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--width", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    texts = prompts(args.n + 2)
    generate(texts[:1], 1)  # warm-up: the model load
    generate(texts[1:2], args.width)  # warm-up: the batch context
    texts = texts[2:]
    totals = {1: [0.0, 0], args.width: [0.0, 0]}
    replies: dict[int, list[str]] = {}
    for _ in range(args.rounds):
        for width in (1, args.width):
            seconds, tokens, outputs = generate(texts, width)
            totals[width][0] += seconds
            totals[width][1] += tokens
            if replies.setdefault(width, outputs) != outputs:
                print(f"width {width}: replies changed between rounds")
    print(
        f"prompts: {len(texts)} x {args.rounds} rounds ({', '.join(p for _, p in PAIRS)}), "
        f"threads: {len(os.sched_getaffinity(0))}, load average: {os.getloadavg()[0]:.1f}"
    )
    rate = {}
    for width, (seconds, tokens) in totals.items():
        rate[width] = tokens / seconds
        print(
            f"concurrency {width}: {seconds:6.2f} s, {tokens} completion tokens, "
            f"{rate[width]:5.1f} tok/s"
        )
    same = sum(a == b for a, b in zip(replies[1], replies[args.width], strict=True))
    print(f"identical replies: {same}/{len(texts)}")
    print(f"batched ÷ one at a time (tok/s): {rate[args.width] / rate[1]:.2f}")


if __name__ == "__main__":
    main()
