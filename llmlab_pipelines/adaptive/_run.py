"""Running an adaptive experiment: the loop and its outcome."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ._policies import Policy, RoundLog


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
