"""The end of an optimization: the finalists against the seed prompt on the held-out split,
Holm-corrected, and a verdict in words."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..stats import COMPARISON_COLUMNS, compare
from ._result import RoundResult
from ._rounds import Evaluator
from ._state import OptimizeState

#: What the held-out table leaves out of :func:`llmlab_pipelines.stats.compare`'s columns.
_LEFT_OUT = {"candidate_a", "ci_level", "correction", "family_size", "effect_size", "effect_kind"}
_LEFT_OUT |= {"wins", "losses", "prob_b_better", "note"}
_HOLDOUT_COLUMNS = [c for c in COMPARISON_COLUMNS if c not in _LEFT_OUT]


@dataclass
class Conclusion:
    """What the held-out test decided.

    Args:
        verdict: The verdict in words.
        winner: The confirmed variant, else the seed prompt.
        confirmed: Whether the held-out test confirmed an improvement.
        holdout: The held-out comparison table (empty when the test did not run).
        train_diff: The winner's (optimistic) gain on the training split.
        stopped: Why calls stopped (a budget), if they did.
    """

    verdict: str
    winner: str
    confirmed: bool = False
    holdout: pd.DataFrame = field(default_factory=pd.DataFrame)
    train_diff: float | None = None
    stopped: str | None = None


def conclude(state: OptimizeState, evaluate: Evaluator, stopped: str | None) -> Conclusion:
    """The finalists against the seed on the held-out split (when there are finalists, no
    stop, and held-out items)."""
    setup = evaluate.setup
    seed, holdout = setup.seed_name, setup.split.holdout
    finalists, train_diff = _finalists(seed, state.pool, state.rounds)
    if not finalists:
        verdict = (
            "no variant beat the seed prompt on the training split; nothing to confirm"
            if state.variants_tried
            else "no usable variant was proposed"
        )
        return Conclusion(verdict, seed, train_diff=train_diff, stopped=stopped)
    if stopped:
        verdict = f"stopped before the held-out test: {stopped}"
        return Conclusion(verdict, seed, train_diff=train_diff, stopped=stopped)
    if not holdout:
        verdict = "no held-out items (train_fraction leaves none)"
        return Conclusion(verdict, seed, train_diff=train_diff, stopped=stopped)
    names = [seed, *finalists]
    scored, halt = evaluate(names, holdout, list(range(len(holdout))), len(state.rounds) + 1)
    if halt:
        verdict = f"stopped during the held-out test: {halt}"
        return Conclusion(verdict, seed, train_diff=train_diff, stopped=halt)
    outcome = _held_out_verdict(scored, seed, setup.alpha)
    outcome.train_diff = train_diff
    return outcome


def _finalists(
    seed: str, pool: list[str], rounds: list[RoundResult]
) -> tuple[list[str], float | None]:
    """The kept prompts that beat the seed on the training split (all of them once the seed
    itself was dropped as clearly worse), and the first one's training gain over the seed."""
    boards = [r for r in rounds if r.leaderboard]
    last: dict[str, Any] = (
        {row["prompt"]: row["train_mean"] for row in boards[-1].leaderboard} if boards else {}
    )
    finalists = [
        p for p in pool if p != seed and (seed not in last or last.get(p, 0.0) > last[seed])
    ]
    seed_mean = next(
        (row["train_mean"] for r in boards for row in r.leaderboard if row["prompt"] == seed),
        None,
    )
    train_diff = None
    if finalists and seed_mean is not None and finalists[0] in last:
        train_diff = float(last[finalists[0]] - seed_mean)
    return finalists, train_diff


def _held_out_verdict(scored: pd.DataFrame, seed: str, alpha: float) -> Conclusion:
    """Compare each finalist with the seed on the held-out scores; the best significant gain
    (if any) wins."""
    table = compare(scored, metric="score", baseline=seed, alpha=alpha, n_boot=2000)
    table = table[_HOLDOUT_COLUMNS].rename(
        columns={"candidate_b": "variant", "mean_a": "seed_mean", "mean_b": "variant_mean"}
    )
    good = table[table["significant"] & (table["diff"] > 0)]
    if len(good):
        top = good.sort_values("diff", ascending=False).iloc[0]
        verdict = (
            f"improvement confirmed on {int(top['n'])} held-out items: "
            f"{top['seed_mean']:.3f} -> {top['variant_mean']:.3f} "
            f"({top['diff']:+.3f}, CI [{top['ci_low']:+.3f}, {top['ci_high']:+.3f}], "
            f"p_adj = {top['p_adjusted']:.3g})"
        )
        return Conclusion(verdict, str(top["variant"]), True, table)
    best = table.sort_values("diff", ascending=False).iloc[0]
    verdict = (
        "not confirmed: on the held-out split the best finalist's difference is "
        f"{best['diff']:+.3f} (CI [{best['ci_low']:+.3f}, {best['ci_high']:+.3f}], "
        f"p_adj = {best['p_adjusted']:.3g}); the training gain did not hold"
    )
    return Conclusion(verdict, seed, False, table)
