"""Adaptive experiments against the full grid, on simulated candidates with known true scores.

Each simulated dataset has items of varying difficulty (a latent z per item, shared by all
candidates, as real eval items are); candidate c answers item i correctly with probability
sigmoid(logit(p_c) + 1.0 * z_i). The true best candidate is the one with the highest p_c.

1. Best-of-K (4 candidates, 400 items, rounds of 20 items): how often the full grid (every
   candidate on every item, pick the best mean) and the adaptive strategies (successive
   elimination, top-two Thompson sampling) pick the true best, and the calls each used.
2. Sequential A/B under the null (two identical candidates, up to 1,000 items, a look after
   every round of 10): the false-positive rate of the always-valid test, against the baseline
   of re-running the fixed-sample test (McNemar) at every look, which inflates it.
3. Sequential A/B under an effect (0.70 vs 0.78): power and calls against the fixed-sample
   test on all 1,000 items.
4. Error rates of every strategy at delta = alpha = 0.05 (400 items, a look after every round
   of 10): under the null (0.70 vs 0.70, and 4 candidates all at 0.70) the rate of declaring a
   best; near the null (0.70 vs 0.72) the rate of declaring the worse one. Both must be
   <= delta within simulation error. Beside them, Thompson sampling stopped on the posterior
   (P(best) >= 1 - delta/K after any round), the rule it used to have.

    python benchmarks/adaptive_simulation.py [--runs 300]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import stats as st

from llmlab_pipelines.adaptive import Batch, TopTwoThompson, make_policy, run_adaptive

DELTA = 0.05


class PosteriorStopThompson(TopTwoThompson):
    """The old stopping rule, for comparison: stop once P(best) >= 1 - delta / K."""

    strategy = "thompson (posterior stop)"

    def _sure(self) -> str | None:
        best = max(self._probs, key=self._probs.__getitem__)
        return best if self._probs[best] >= 1 - self.delta / len(self.arms) else None

    def next_round(self) -> dict[str, list[int]]:
        return {} if self.rounds and self._sure() else super().next_round()

    def decision(self) -> dict[str, object]:
        return {**super().decision(), "winner": self._sure() if self.rounds else None}


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def dataset(rng: np.random.Generator, p: list[float], n: int) -> dict[str, np.ndarray]:
    z = rng.normal(0.0, 1.0, n)
    logits = np.log(np.asarray(p) / (1 - np.asarray(p)))
    return {
        f"c{k}": (rng.random(n) < sigmoid(logits[k] + 1.0 * z)).astype(float) for k in range(len(p))
    }


def adaptive(strategy: str, table: dict[str, np.ndarray], round_size: int, seed: int = 0):
    n = len(next(iter(table.values())))
    if strategy == PosteriorStopThompson.strategy:
        policy = PosteriorStopThompson(list(table), n, round_size, delta=DELTA, seed=seed)
    else:
        policy = make_policy(
            strategy, list(table), n, round_size=round_size, seed=seed, alpha=DELTA, delta=DELTA
        )

    def evaluate(plan: dict[str, list[int]]) -> Batch:
        return Batch({a: {i: float(table[a][i]) for i in items} for a, items in plan.items()})

    return run_adaptive(policy, evaluate)


def mcnemar_p(a: np.ndarray, b: np.ndarray) -> float:
    b_only = int(((b == 1) & (a == 0)).sum())
    a_only = int(((a == 1) & (b == 0)).sum())
    if b_only + a_only == 0:
        return 1.0
    return float(st.binomtest(b_only, b_only + a_only, 0.5).pvalue)


def best_of_k(rng: np.random.Generator, runs: int, p: list[float], label: str) -> None:
    n, truth = 400, f"c{int(np.argmax(p))}"
    hits = {"grid": 0, "successive_elimination": 0, "thompson": 0}
    same = dict.fromkeys(hits, 0)
    calls = dict.fromkeys(hits, 0)
    for r in range(runs):
        table = dataset(rng, p, n)
        means = {a: v.mean() for a, v in table.items()}
        grid_pick = max(means, key=means.__getitem__)
        hits["grid"] += grid_pick == truth
        same["grid"] += 1
        calls["grid"] += n * len(p)
        for strategy in ("successive_elimination", "thompson"):
            out = adaptive(strategy, table, round_size=20, seed=r)
            pick = out.decision.get("winner") or out.decision.get("best_guess")
            hits[strategy] += pick == truth
            same[strategy] += pick == grid_pick
            calls[strategy] += out.calls
    print(f"1{label}. best of {len(p)} (true p = {p}, {n} items, {runs} simulated datasets)")
    print(f"   {'method':<24}{'found true best':>16}{'same pick as grid':>19}{'calls / grid':>14}")
    for k in hits:
        print(
            f"   {k:<24}{hits[k] / runs:>16.1%}{same[k] / runs:>19.1%}"
            f"{calls[k] / calls['grid']:>14.2f}"
        )


def sequential(rng: np.random.Generator, runs: int, p: tuple[float, float]) -> dict[str, float]:
    n, look = 1000, 10
    seq_reject = peek_reject = fixed_reject = agree = 0
    seq_calls = 0
    for r in range(runs):
        table = dataset(rng, list(p), n)
        out = adaptive("sequential", table, round_size=look, seed=r)
        seq_reject += out.decision["verdict"] in ("a_better", "b_better")
        seq_calls += out.calls
        a, b = table["c0"], table["c1"]
        fixed = mcnemar_p(a, b) < 0.05
        fixed_reject += fixed
        verdict = out.decision["verdict"]
        if fixed:
            agree += verdict == ("b_better" if b.mean() > a.mean() else "a_better")
        else:
            agree += verdict == "undecided"
        peek_reject += any(mcnemar_p(a[:k], b[:k]) < 0.05 for k in range(look, n + 1, look))
    return {
        "sequential": seq_reject / runs,
        "peeking fixed test": peek_reject / runs,
        "fixed test, all items": fixed_reject / runs,
        "calls": seq_calls / (runs * 2 * n),
        "same": agree / runs,
    }


def error_rates(rng: np.random.Generator, runs: int) -> None:
    """Declared-best rate under the null, wrong-pick rate near it, for every strategy."""
    n, sigma = 400, (DELTA * (1 - DELTA) / runs) ** 0.5
    scenarios = [
        ("null, .70 vs .70: declared a best", [0.70, 0.70], False),
        ("null, 4 x .70: declared a best", [0.70] * 4, False),
        ("near-null, .70 vs .72: declared .70 the best", [0.70, 0.72], True),
    ]
    print(
        f"4. error rates, delta = alpha = {DELTA} ({n} items, rounds of 10, {runs} runs each; "
        f"delta + 2 s.e. = {DELTA + 2 * sigma:.1%})"
    )
    print(f"   {'scenario / strategy':<48}{'error':>8}{'decided':>9}{'calls / grid':>14}")
    for label, p, near in scenarios:
        print(f"   {label}")
        strategies = ["successive_elimination", "thompson", PosteriorStopThompson.strategy]
        if len(p) == 2:
            strategies.insert(0, "sequential")
        tables = [dataset(rng, p, n) for _ in range(runs)]
        for strategy in strategies:
            errors = decided = calls = 0
            for r, table in enumerate(tables):
                out = adaptive(strategy, table, round_size=10, seed=r)
                winner = out.decision.get("winner")
                decided += winner is not None
                errors += winner == "c0" if near else winner is not None
                calls += out.calls
            print(
                f"     {strategy:<46}{errors / runs:>8.1%}{decided / runs:>9.1%}"
                f"{calls / (runs * n * len(p)):>14.2f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    rng = np.random.default_rng(20261125)
    t0 = time.perf_counter()
    best_of_k(rng, args.runs, [0.60, 0.66, 0.70, 0.78], "a")
    best_of_k(rng, args.runs, [0.70, 0.72, 0.74, 0.76], "b")
    null = sequential(rng, args.runs, (0.7, 0.7))
    print(f"2. A/B under the null (0.70 vs 0.70, look every 10 items up to 1000, {args.runs} runs)")
    print("   false-positive rate (alpha = 0.05):")
    for k in ("sequential", "peeking fixed test", "fixed test, all items"):
        print(f"   {k:<24}{null[k]:>8.1%}")
    print(
        f"   calls / grid calls: {null['calls']:.2f}; same decision as the grid: {null['same']:.1%}"
    )
    alt = sequential(rng, args.runs, (0.70, 0.78))
    print(f"3. A/B under an effect (0.70 vs 0.78, {args.runs} runs)")
    print(
        f"   power: sequential {alt['sequential']:.1%} using {alt['calls']:.2f} of the grid's "
        f"calls; fixed test on all items {alt['fixed test, all items']:.1%}; "
        f"same decision as the grid: {alt['same']:.1%}"
    )
    error_rates(rng, args.runs)
    print(f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
