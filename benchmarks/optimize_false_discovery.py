"""Does prompt optimization fool itself? Repeated simulated optimizations with known truth.

An in-process model answers each item right with a fixed probability that depends only on the
prompt variant's true quality (a coin per prompt x item, so scores are noisy but honest):

1. Null: every proposed variant is exactly as good as the seed (p = 0.5). Any lead a variant
   shows on the training split is luck. Measured: how often the training split alone would
   declare an improvement (the winner's train mean above the seed's: the naive reading), and
   how often the held-out test does (must stay <= alpha = 0.05).
2. Effect: one of the four proposals is truly better (p = 0.75 vs 0.5). Measured: how often
   the loop finds it and the held-out test confirms it.

    python benchmarks/optimize_false_discovery.py [--runs 100]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import tempfile
import time
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from llmlab_pipelines.engine import Completion, Engine, GenerationRequest
from llmlab_pipelines.lab import load_lab
from llmlab_pipelines.optimize import optimize_experiment

NUMBER = re.compile(r"write improved template number (\d+)")


class Model:
    """Optimizer and task model in one; ``good`` marks which proposal number is truly better."""

    def __init__(self, run: int, good: int | None) -> None:
        self.run, self.good = run, good

    def _coin(self, text: str, p: float) -> bool:
        h = hashlib.sha256(f"{self.run}|{text}".encode()).hexdigest()
        return int(h[:12], 16) / 16**12 < p

    async def complete(self, request: GenerationRequest) -> Completion:
        found = NUMBER.search(request.prompt)
        if found:
            k = int(found.group(1))
            return Completion(
                f" Variant {k}.\nTEMPLATE:\nV{k}r{self.run}: {{{{ question }}}}\nAnswer:\n### END"
            )
        sums = re.search(r"What is (\d+) \+ (\d+)\?", request.prompt)
        assert sums is not None
        right = str(int(sums.group(1)) + int(sums.group(2)))
        better = self.good is not None and request.prompt.startswith(f"V{self.good}r")
        return Completion(right if self._coin(request.prompt, 0.75 if better else 0.5) else "-1")


def make_lab(root: Path, run: int) -> Path:
    for folder in ("prompts", "datasets", "experiments"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    (root / "models.yaml").write_text("m:\n  model: openai/m\n  max_tokens: 8\n  concurrency: 64\n")
    (root / "prompts" / "seed.jinja").write_text("Q: {{ question }}\nA:")
    rows = [
        json.dumps(
            {"id": f"s{k}", "question": f"What is {k} + {k % 7}?", "expected": str(k + k % 7)}
        )
        for k in range(300)
    ]
    (root / "datasets" / "sums.jsonl").write_text("\n".join(rows) + "\n")
    (root / "experiments" / "tune.yaml").write_text(
        "dataset: sums\nprompts: [seed]\nmodels: [m]\nmetrics: [numeric_match]\nmode: optimize\n"
        f"optimize:\n  variants: 4\n  rounds: 2\n  round_size: 25\n  delta: 0.2\n  seed: {run}\n"
    )
    return root


def one(run: int, good: int | None) -> tuple[bool, bool, bool]:
    with tempfile.TemporaryDirectory() as tmp:
        lab = load_lab(make_lab(Path(tmp), run))
        out = optimize_experiment(
            lab, "tune", lab.datasets["sums"].records, Engine(Model(run, good), cache=None)
        )
    naive = out.train_diff is not None and out.train_diff > 0
    found = (
        good is not None
        and out.confirmed
        and out.winner in out.sources
        and (out.sources[out.winner].startswith(f"V{good}r"))
    )
    return naive, out.confirmed, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()
    t0 = time.perf_counter()
    null = [one(r, None) for r in range(args.runs)]
    effect = [one(10_000 + r, 2) for r in range(args.runs)]
    print(f"1. null: 4 variants per round as good as the seed, {args.runs} optimizations")
    print(f"   train split alone says 'improved':     {sum(n for n, _, _ in null) / args.runs:.1%}")
    print(
        f"   held-out test confirms (false discovery): {sum(c for _, c, _ in null) / args.runs:.1%}"
        " (alpha = 5%)"
    )
    print(f"2. effect: one variant truly better (0.75 vs 0.50), {args.runs} optimizations")
    print(
        f"   found and confirmed on held-out:        {sum(f for _, _, f in effect) / args.runs:.1%}"
    )
    print(f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
