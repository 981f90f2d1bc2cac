"""The adaptive strategies: ``adaptive: strategy:`` -> its policy and the grid's answer.

A new strategy is a :class:`~._policies.Policy` subclass in its own module plus one line in
:data:`STRATEGIES` (and its name in the lab format's ``strategy:`` choices, ``lab/_schema.py``,
which cannot import this package).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._grid import best_decision, pair_decision
from ._policies import Policy, SequentialAB, SuccessiveElimination, TopTwoThompson

#: The full grid's decision in a strategy's terms: ``(table, *, alpha, margin) -> decision``.
GridDecision = Callable[..., dict[str, Any]]

#: The strategy chosen by the number of candidates (see :func:`resolve_strategy`).
AUTO = "auto"


@dataclass(frozen=True)
class Strategy:
    """One adaptive strategy.

    Attributes:
        policy: Spends the calls round by round; its ``strategy`` is the strategy's name.
        options: The experiment settings the policy takes (of ``alpha``, ``delta``,
            ``margin``, ``seed``), passed by keyword.
        grid: What the full grid decides, comparable with the policy's decision.
        arms: The number of candidates it compares, when it is fixed.
    """

    policy: type[Policy]
    options: tuple[str, ...]
    grid: GridDecision
    arms: int | None = None

    @property
    def name(self) -> str:
        """Its ``strategy:`` name."""
        return self.policy.strategy

    def check(self, n_arms: int) -> None:
        """Raise ValueError when it cannot compare ``n_arms`` candidates."""
        if self.arms is not None and n_arms != self.arms:
            raise ValueError(
                f"strategy {self.name!r} compares exactly {self.arms} candidates, not {n_arms}"
            )


STRATEGIES: dict[str, Strategy] = {
    s.name: s
    for s in (
        Strategy(SequentialAB, ("alpha", "margin"), pair_decision, arms=2),
        Strategy(SuccessiveElimination, ("delta",), best_decision),
        Strategy(TopTwoThompson, ("delta", "seed"), best_decision),
    )
}


def resolve_strategy(strategy: str, n_arms: int) -> str:
    """``auto``: a sequential test for two candidates, successive elimination for more."""
    if strategy != AUTO and strategy not in STRATEGIES:
        known = ", ".join([AUTO, *STRATEGIES])
        raise ValueError(f"unknown strategy {strategy!r}; choose one of {known}")
    if strategy == AUTO:
        return "sequential" if n_arms == 2 else "successive_elimination"
    STRATEGIES[strategy].check(n_arms)
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
    chosen = STRATEGIES[resolve_strategy(strategy, len(arms))]
    settings: dict[str, Any] = {"alpha": alpha, "delta": delta, "margin": margin, "seed": seed}
    options = {k: settings[k] for k in chosen.options}
    return chosen.policy(arms, n_items, round_size, max_calls, **options)


def grid_decision(
    strategy: str, table: dict[str, np.ndarray], *, alpha: float = 0.05, margin: float = 0.0
) -> dict[str, Any]:
    """What evaluating every candidate on every item decides, in ``strategy``'s terms.

    Two candidates (``sequential``): the fixed-sample paired test the leaderboard uses (McNemar
    for 0/1 scores, else a t-test), and, with a margin, equivalence when the 1 - 2 alpha
    interval of the difference fits inside it (TOST). More: the best mean, when a paired test
    against every other candidate (Holm-corrected) says so; else "not separated".
    """
    chosen = STRATEGIES[resolve_strategy(strategy, len(table))]
    return chosen.grid(table, alpha=alpha, margin=margin)
