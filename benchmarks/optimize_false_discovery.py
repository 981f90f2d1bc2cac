"""Does prompt optimization fool itself? Repeated simulated optimizations with known truth.

An in-process model answers each item right with a fixed probability that depends only on the
prompt variant's true quality (a coin per prompt x item, so scores are noisy but honest):

1. Null: every proposed variant is exactly as good as the seed (p = 0.5). Any lead a variant
   shows on the training split is luck. Measured: how often the training split alone would
   declare an improvement (the winner's train mean above the seed's: the naive reading), and
   how often the held-out test does (must stay <= alpha = 0.05).
2. Duplicates under the null: the same, but the 300 records hold only 100 distinct questions
   (a repeated question gets the same answer, as the response cache gives it). The split is by
   content, so no question is confirmed on items the loop selected on.
3. Near-null: the four proposals are truly 0.47, 0.49, 0.50 and 0.53 against the seed's 0.50.
   A false discovery is confirming a variant that is not truly better than the seed.
4. Effect: one of the four proposals is truly better (p = 0.75 vs 0.5). Measured: how often
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


NULL: dict[int, float] = {}
NEAR_NULL = {1: 0.47, 2: 0.49, 3: 0.50, 4: 0.53}
EFFECT = {2: 0.75}
SEED_P = 0.5


class Model:
    """Optimizer and task model in one; ``truth`` is each proposal number's true accuracy
    (the seed and unlisted proposals: 0.5)."""

    def __init__(self, run: int, truth: dict[int, float]) -> None:
        self.run, self.truth = run, truth

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
        variant = re.match(r"V(\d+)r", request.prompt)
        p = self.truth.get(int(variant.group(1)), SEED_P) if variant else SEED_P
        return Completion(right if self._coin(request.prompt, p) else "-1")


def make_lab(root: Path, run: int, distinct: int = 300) -> Path:
    for folder in ("prompts", "datasets", "experiments"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    (root / "models.yaml").write_text("m:\n  model: openai/m\n  max_tokens: 8\n  concurrency: 64\n")
    (root / "prompts" / "seed.jinja").write_text("Q: {{ question }}\nA:")
    rows = [
        json.dumps(
            {"id": f"s{i}", "question": f"What is {k} + {k % 7}?", "expected": str(k + k % 7)}
        )
        for i, k in enumerate(k % distinct for k in range(300))
    ]
    (root / "datasets" / "sums.jsonl").write_text("\n".join(rows) + "\n")
    (root / "experiments" / "tune.yaml").write_text(
        "dataset: sums\nprompts: [seed]\nmodels: [m]\nmetrics: [numeric_match]\nmode: optimize\n"
        f"optimize:\n  variants: 4\n  rounds: 2\n  round_size: 25\n  delta: 0.2\n  seed: {run}\n"
    )
    return root


def one(run: int, truth: dict[int, float], distinct: int = 300) -> tuple[bool, bool, bool]:
    """One optimization: (train split alone says improved, a false discovery, a true one)."""
    with tempfile.TemporaryDirectory() as tmp:
        lab = load_lab(make_lab(Path(tmp), run, distinct))
        out = optimize_experiment(
            lab, "tune", lab.datasets["sums"].records, Engine(Model(run, truth), cache=None)
        )
    naive = out.train_diff is not None and out.train_diff > 0
    winner = re.match(r"V(\d+)r", out.sources.get(out.winner, "")) if out.confirmed else None
    better = winner is not None and truth.get(int(winner.group(1)), SEED_P) > SEED_P
    return naive, out.confirmed and not better, better


def _rate(hits: list[bool]) -> str:
    """A rate with its simulation error (one binomial standard error)."""
    p = sum(hits) / len(hits)
    return f"{p:6.1%} (± {(p * (1 - p) / len(hits)) ** 0.5:.1%})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()
    t0 = time.perf_counter()
    n = args.runs
    scenarios = [
        ("1. null: 4 variants per round as good as the seed", NULL, 300, 0),
        ("2. null, 100 distinct questions in 300 records", NULL, 100, 20_000),
        ("3. near-null: variants 0.47/0.49/0.50/0.53 vs 0.50", NEAR_NULL, 300, 30_000),
        ("4. effect: one variant truly better (0.75 vs 0.50)", EFFECT, 300, 10_000),
    ]
    for title, truth, distinct, offset in scenarios:
        out = [one(offset + r, truth, distinct) for r in range(n)]
        print(f"{title}, {n} optimizations")
        print(f"   train split alone says 'improved':          {_rate([a for a, _, _ in out])}")
        print(
            f"   false discovery (confirmed, not better):    {_rate([b for _, b, _ in out])}"
            " (alpha = 5%)"
        )
        if truth:
            print(f"   a truly better variant confirmed:           {_rate([c for _, _, c in out])}")
    print(f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
