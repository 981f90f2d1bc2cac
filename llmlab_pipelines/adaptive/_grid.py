"""What evaluating every candidate on every item decides, in an adaptive run's terms."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def _long(table: dict[str, np.ndarray]) -> pd.DataFrame:
    """``candidate, item_id, score`` rows of ``candidate -> score per item``."""
    return pd.DataFrame(
        [
            {"candidate": a, "item_id": i, "score": float(v)}
            for a in table
            for i, v in enumerate(table[a])
        ]
    )


def pair_decision(
    table: dict[str, np.ndarray], *, alpha: float = 0.05, margin: float = 0.0
) -> dict[str, Any]:
    """Two candidates: the fixed-sample paired test the leaderboard uses (McNemar for 0/1
    scores, else a t-test), and, with a margin, equivalence when the 1 - 2 alpha interval of
    the difference fits inside it (TOST)."""
    from ..stats import compare

    a, b = table
    long = _long(table)
    means = {x: float(np.mean(table[x])) for x in table}
    row = compare(long, baseline=a, alpha=alpha, n_boot=2000).iloc[0]
    if bool(row["significant"]):
        verdict = "b_better" if row["diff"] > 0 else "a_better"
    elif margin > 0:
        tost = compare(long, baseline=a, alpha=2 * alpha, n_boot=2000).iloc[0]
        inside = -margin < tost["ci_low"] and tost["ci_high"] < margin
        verdict = "equivalent" if inside else "undecided"
    else:
        verdict = "undecided"
    winner = {"b_better": b, "a_better": a}.get(verdict)
    return {"verdict": verdict, "winner": winner, "means": means, "p_value": row["p_value"]}


def best_decision(
    table: dict[str, np.ndarray], *, alpha: float = 0.05, margin: float = 0.0
) -> dict[str, Any]:
    """More candidates: the best mean, when a paired test against every other candidate
    (Holm-corrected) says so; else "not separated". ``margin`` is not used."""
    from ..stats import compare

    means = {a: float(np.mean(table[a])) for a in table}
    best = max(table, key=means.__getitem__)
    rows = compare(_long(table), baseline=best, alpha=alpha, n_boot=2000)
    separated = bool(len(rows)) and bool((rows["significant"] & (rows["diff"] < 0)).all())
    return {
        "verdict": "best found" if separated else "not separated",
        "winner": best if separated else None,
        "best_guess": best,
        "means": means,
    }
