"""Are the statistics calibrated? Simulated experiments under the null and under an effect.

1. Family-wise false-positive rate: 5 candidates identical in distribution to the baseline
   (binary, McNemar; continuous, paired t), Holm over all 15 pairs (the leaderboard's family:
   its verdicts and tiers); the share of experiments with any "significant" row or more than
   one tier must stay <= alpha. Also one McNemar test alone, 0.70 vs 0.70 on 1,000 items whose
   difficulty both candidates share (the adaptive simulation's fixed-sample comparison).
2. Coverage of the difference interval (paired t for continuous scores) at n = 200: 93-97%.
3. Power check: with the n that `sample_size(paired=True)` asks for, the share of detected
   effects should be near 80%.

    python benchmarks/stats_calibration.py [--runs 400]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from llmlab_pipelines.stats import compare, sample_size, tiers_from_comparisons


def long(columns: dict[str, np.ndarray]) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    return pd.DataFrame(
        {
            "candidate": np.repeat(list(columns), n),
            "item_id": np.tile(np.arange(n), len(columns)),
            "score": np.concatenate(list(columns.values())),
        }
    )


def null_family(rng: np.random.Generator, binary: bool, n: int = 150) -> bool:
    """One experiment, 6 candidates, no true difference: any significant pair or tier > 1?"""
    if binary:
        difficulty = rng.random(n)  # items differ in difficulty, candidates do not
        cols = {f"c{k}": (rng.random(n) < difficulty).astype(float) for k in range(6)}
    else:
        item = rng.normal(0, 1, n)
        cols = {f"c{k}": item + rng.normal(0, 1, n) for k in range(6)}
    frame = compare(
        long(cols), baseline="c0", family="all_pairs", n_boot=50, seed=int(rng.integers(1 << 30))
    )
    tiers = tiers_from_comparisons({k: float(v.mean()) for k, v in cols.items()}, frame)
    return bool(frame["significant"].any()) or max(tiers.values()) > 1


def single_mcnemar_null(rng: np.random.Generator, n: int = 1000, p: float = 0.7) -> bool:
    """0.70 vs 0.70 on n items of shared difficulty (logit(p) + z): McNemar once, significant?"""
    z = rng.normal(0.0, 1.0, n)
    prob = 1 / (1 + np.exp(-(np.log(p / (1 - p)) + z)))
    cols = {c: (rng.random(n) < prob).astype(float) for c in ("a", "b")}
    return bool(compare(long(cols), baseline="a", n_boot=10).iloc[0]["significant"])


def coverage(rng: np.random.Generator, n: int = 200, effect: float = 0.1) -> bool:
    item = rng.normal(0, 1, n)
    a = item + rng.normal(0, 1, n)
    b = item + effect + rng.normal(0, 1, n)
    row = compare(
        long({"a": a, "b": b}), baseline="a", n_boot=2000, seed=int(rng.integers(1 << 30))
    ).iloc[0]
    return bool(row["ci_low"] <= effect <= row["ci_high"])


def power(rng: np.random.Generator, n: int, p0: float, p1: float) -> bool:
    a = (rng.random(n) < p0).astype(float)
    b = (rng.random(n) < p1).astype(float)
    row = compare(long({"a": a, "b": b}), baseline="a", n_boot=100).iloc[0]
    return bool(row["significant"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=400)
    args = parser.parse_args()
    rng = np.random.default_rng(20261124)
    start = time.perf_counter()
    for binary in (True, False):
        hits = sum(null_family(rng, binary) for _ in range(args.runs))
        kind = "binary (McNemar)" if binary else "continuous (paired t)"
        rate = hits / args.runs
        se = np.sqrt(0.05 * 0.95 / args.runs)
        print(
            f"family-wise false-positive rate, {kind}, Holm over all 15 pairs of 6 candidates "
            f"(verdicts and tiers): {rate:.3f} (alpha 0.05; {args.runs} experiments, "
            f"±{2 * se:.3f} at 2 SE)"
        )
    single = np.mean([single_mcnemar_null(rng) for _ in range(args.runs)])
    print(
        f"one McNemar test under the null (0.70 vs 0.70, 1000 items): {single:.3f} "
        f"(alpha 0.05; ±{2 * np.sqrt(0.05 * 0.95 / args.runs):.3f} at 2 SE)"
    )
    cov = np.mean([coverage(rng) for _ in range(args.runs)])
    print(f"paired t 95% CI coverage of the difference, n=200: {cov:.3f} (target 0.93-0.97)")
    n = sample_size(0.5, 0.15, paired=True)
    hit = np.mean([power(rng, n, 0.5, 0.65) for _ in range(args.runs)])
    print(
        f"power at sample_size(0.5, 0.15, paired=True) = {n} items (independent items): "
        f"{hit:.3f} (target 0.80)"
    )
    print(f"took {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
