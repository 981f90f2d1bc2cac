"""Running an adaptive experiment: the loop, the outcome, and the full grid's answer beside it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._policies import Policy, RoundLog, SequentialAB, SuccessiveElimination, TopTwoThompson

STRATEGIES = ("auto", "sequential", "successive_elimination", "thompson")


@dataclass
class Batch:
    """What one round's evaluation returned: ``candidate -> item position -> score``."""

    scores: dict[str, dict[int, float]]
    stopped: str | None = None  # set when the run could not go on (a budget ran out)


@dataclass
class AdaptiveOutcome:
    """The result of an adaptive run."""

    strategy: str
    arms: list[str]
    n_items: int
    calls: int
    grid_calls: int
    rounds: list[RoundLog]
    decision: dict[str, Any]
    means: dict[str, float]
    items_seen: dict[str, int]
    stopped: str | None = None
    grid: dict[str, Any] | None = field(default=None)

    @property
    def call_fraction(self) -> float:
        return self.calls / self.grid_calls if self.grid_calls else 0.0

    @property
    def same_as_grid(self) -> bool | None:
        """Whether the full grid reached the same decision (None when it was not run)."""
        if self.grid is None:
            return None
        return bool(self.grid["verdict"] == self.decision["verdict"]) and (
            self.grid.get("winner") == self.decision.get("winner")
        )

    def rounds_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "round": r.round,
                    "calls": r.calls,
                    "evaluated": ", ".join(f"{a}: {n}" for a, n in r.evaluated.items() if n),
                    "active": ", ".join(r.active),
                    "eliminated": ", ".join(r.eliminated),
                    "leader": r.leader,
                    "note": r.note,
                }
                for r in self.rounds
            ]
        )

    def summary(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy,
            "verdict": self.decision["verdict"],
            "winner": self.decision.get("winner"),
            "calls": self.calls,
            "grid_calls": self.grid_calls,
            "call_fraction": round(self.call_fraction, 4),
            "rounds": len(self.rounds),
            "stopped": self.stopped,
            "grid_verdict": None if self.grid is None else self.grid["verdict"],
            "grid_winner": None if self.grid is None else self.grid.get("winner"),
            "same_as_grid": self.same_as_grid,
        }


def resolve_strategy(strategy: str, n_arms: int) -> str:
    """``auto``: a sequential test for two candidates, successive elimination for more."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    if strategy == "auto":
        return "sequential" if n_arms == 2 else "successive_elimination"
    if strategy == "sequential" and n_arms != 2:
        raise ValueError(f"strategy 'sequential' compares exactly 2 candidates, not {n_arms}")
    return strategy


def make_policy(
    strategy: str,
    arms: list[str],
    n_items: int,
    *,
    round_size: int,
    alpha: float = 0.05,
    delta: float = 0.05,
    margin: float = 0.0,
    seed: int = 0,
    max_calls: int | None = None,
) -> Policy:
    """The policy for ``strategy`` (see :func:`resolve_strategy`)."""
    strategy = resolve_strategy(strategy, len(arms))
    if strategy == "sequential":
        return SequentialAB(arms, n_items, round_size, max_calls, alpha=alpha, margin=margin)
    if strategy == "successive_elimination":
        return SuccessiveElimination(arms, n_items, round_size, max_calls, delta=delta)
    return TopTwoThompson(arms, n_items, round_size, max_calls, delta=delta, seed=seed)


def run_adaptive(
    policy: Policy,
    evaluate: Callable[[dict[str, list[int]]], Batch],
    on_round: Callable[[RoundLog], None] | None = None,
) -> AdaptiveOutcome:
    """Evaluate round after round until the policy is done or ``evaluate`` says stop."""
    while True:
        plan = policy.next_round()
        if not plan:
            break
        batch = evaluate(plan)
        policy.observe(batch.scores)
        if on_round is not None and policy.rounds:
            on_round(policy.rounds[-1])
        if batch.stopped:
            policy.stop(batch.stopped)
            break
    return AdaptiveOutcome(
        strategy=policy.strategy,
        arms=list(policy.arms),
        n_items=policy.n_items,
        calls=policy.calls,
        grid_calls=policy.grid_calls,
        rounds=list(policy.rounds),
        decision=policy.decision(),
        means=policy.means(),
        items_seen={a: len(s) for a, s in policy.scores.items()},
        stopped=policy.stopped,
    )


def grid_decision(
    strategy: str, table: dict[str, np.ndarray], *, alpha: float = 0.05, margin: float = 0.0
) -> dict[str, Any]:
    """What evaluating every candidate on every item decides, in the adaptive run's terms.

    Two candidates (``sequential``): the fixed-sample paired test the leaderboard uses (McNemar
    for 0/1 scores, else a t-test), and, with a margin, equivalence when the 1 - 2 alpha
    interval of the difference fits inside it (TOST). More: the best mean, when a paired test
    against every other candidate (Holm-corrected) says so; else "not separated".
    """
    from ..stats import compare

    arms = list(table)
    long = pd.DataFrame(
        [
            {"candidate": a, "item_id": i, "score": float(v)}
            for a in arms
            for i, v in enumerate(table[a])
        ]
    )
    means = {a: float(np.mean(table[a])) for a in arms}
    if strategy == "sequential":
        a, b = arms
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
    best = max(arms, key=means.__getitem__)
    rows = compare(long, baseline=best, alpha=alpha, n_boot=2000)
    separated = bool(len(rows)) and bool((rows["significant"] & (rows["diff"] < 0)).all())
    return {
        "verdict": "best found" if separated else "not separated",
        "winner": best if separated else None,
        "best_guess": best,
        "means": means,
    }
