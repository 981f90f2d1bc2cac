"""Under the null, the leaderboard's family (verdicts vs the baseline and tiers) errs <= alpha."""

from __future__ import annotations

import numpy as np
import pandas as pd

from llmlab_pipelines.report import build_leaderboard
from llmlab_pipelines.stats import compare

RUNS, ALPHA = 300, 0.05


def experiment(rng: np.random.Generator, *, binary: bool, repeats: int) -> pd.DataFrame:
    """4 candidates identical in distribution; items differ in difficulty; each item scored
    ``repeats`` times (duplicate rows of one item, averaged by the comparison)."""
    n = 40
    difficulty = rng.random(n)
    rows = []
    for name in ("base", "b", "c", "d"):
        for r in range(repeats):
            if binary:
                values = (rng.random(n) < difficulty).astype(float)
            else:
                values = difficulty + rng.normal(0, 0.3, n)
            rows.append(
                pd.DataFrame(
                    {
                        "candidate": name,
                        "item_id": [f"i{i}" for i in range(n)],
                        "repeat": r,
                        "score": values,
                        "error": None,
                        "prompt_tokens": 1,
                        "completion_tokens": 1,
                        "cost_usd": 0.0,
                        "latency_s": 0.1,
                    }
                )
            )
    return pd.concat(rows, ignore_index=True)


def test_family_wise_error_of_verdicts_and_tiers_under_the_null() -> None:
    rng = np.random.default_rng(20260101)
    false_alarms = 0
    for run in range(RUNS):
        frame = experiment(rng, binary=run % 3 != 2, repeats=2 if run % 2 else 1)
        pairs = compare(frame, baseline="base", family="all_pairs", n_boot=20, seed=run)
        board = build_leaderboard(frame, pairs, metric="score", baseline="base")
        differs = bool(board["significant"].fillna(False).any())
        false_alarms += differs or int(board["tier"].max()) > 1
    rate = false_alarms / RUNS
    assert rate <= ALPHA + 3 * np.sqrt(ALPHA * (1 - ALPHA) / RUNS), rate
