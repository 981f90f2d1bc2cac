"""How an adaptive experiment spends its calls, round by round.

Each policy answers two questions: which (candidate, item) pairs to evaluate next, and whether
it is done. Items are positions in a shuffled order of the dataset, so every prefix is a random
sample. Scores must be in ``[0, 1]``.

- :class:`SequentialAB`: two candidates on the same items, an always-valid test after each round.
- :class:`SuccessiveElimination`: every surviving candidate on the same items; a candidate
  leaves as soon as another one beats it with confidence (paired confidence sequences,
  Bonferroni over the pairs), so the calls go where the ranking is still open.
- :class:`TopTwoThompson`: Beta posteriors; each call goes to the posterior's sampled best or,
  half the time, to its strongest challenger (Russo 2016), until
  ``P(best) >= 1 - delta / K`` for K candidates.
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from ._sequential import ConfidenceSequence, SequentialABTest, SequentialDecision


@dataclass
class RoundLog:
    """What one round did."""

    round: int
    evaluated: dict[str, int]
    active: list[str]
    eliminated: list[str]
    leader: str
    calls: int
    note: str = ""


@dataclass
class Policy(ABC):
    """The shared state: candidates, items, what each candidate scored so far."""

    strategy: ClassVar[str]
    arms: list[str]
    n_items: int
    round_size: int
    max_calls: int | None = None
    scores: dict[str, dict[int, float]] = field(init=False)
    active: list[str] = field(init=False)
    calls: int = field(default=0, init=False)
    rounds: list[RoundLog] = field(default_factory=list, init=False)
    stopped: str | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if len(set(self.arms)) != len(self.arms) or len(self.arms) < 2:
            raise ValueError(f"an adaptive experiment needs 2+ distinct candidates: {self.arms}")
        if self.round_size < 1 or self.n_items < 1:
            raise ValueError("round_size and n_items must be >= 1")
        self.scores = {a: {} for a in self.arms}
        self.active = list(self.arms)

    @property
    def grid_calls(self) -> int:
        """What evaluating every candidate on every item costs."""
        return len(self.arms) * self.n_items

    def means(self) -> dict[str, float]:
        return {a: float(np.mean(list(s.values()))) if s else 0.0 for a, s in self.scores.items()}

    def leader(self) -> str:
        means = self.means()
        pool = self.active or self.arms
        return max(pool, key=lambda a: (means[a], len(self.scores[a])))

    def _room(self) -> int | None:
        return None if self.max_calls is None else self.max_calls - self.calls

    @abstractmethod
    def next_round(self) -> dict[str, list[int]]:
        """``candidate -> item positions`` to evaluate now; empty when done."""

    def observe(self, results: dict[str, dict[int, float]]) -> None:
        """Record the scores of the round just evaluated."""
        for arm, by_item in results.items():
            for item, score in by_item.items():
                if not 0.0 <= score <= 1.0 or np.isnan(score):
                    raise ValueError(
                        f"adaptive mode needs scores in [0, 1]; {arm!r} scored {score!r} "
                        f"on item position {item}"
                    )
                self.scores[arm][item] = float(score)
                self.calls += 1
        self._update(results)

    @abstractmethod
    def _update(self, results: dict[str, dict[int, float]]) -> None: ...

    @abstractmethod
    def decision(self) -> dict[str, Any]:
        """The outcome so far: ``winner`` (or None), ``verdict``, and the evidence."""

    def stop(self, reason: str) -> None:
        """Stop early from outside (a budget ran out)."""
        self.stopped = reason


@dataclass
class SequentialAB(Policy):
    """Baseline ``arms[0]`` against ``arms[1]``, on the same items, tested after every round."""

    strategy = "sequential"
    alpha: float = 0.05
    margin: float = 0.0
    test: SequentialABTest = field(init=False)
    _next: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        if len(self.arms) != 2:
            raise ValueError(f"a sequential A/B test compares exactly 2 candidates: {self.arms}")
        self.test = SequentialABTest(self.alpha, margin=self.margin)

    def next_round(self) -> dict[str, list[int]]:
        if self.stopped or self.test.decision().decided or self._next >= self.n_items:
            return {}
        size = min(self.round_size, self.n_items - self._next)
        room = self._room()
        if room is not None:
            size = min(size, room // 2)
        if size <= 0:
            return {}
        items = list(range(self._next, self._next + size))
        self._next += size
        return {self.arms[0]: items, self.arms[1]: items}

    def _update(self, results: dict[str, dict[int, float]]) -> None:
        a, b = self.arms
        items = sorted(set(results.get(a, {})) & set(results.get(b, {})))
        d = self.test.update([results[a][i] for i in items], [results[b][i] for i in items])
        self.rounds.append(
            RoundLog(
                len(self.rounds) + 1,
                {x: len(results.get(x, {})) for x in self.arms},
                list(self.arms),
                [],
                self.leader(),
                self.calls,
                f"diff {d.mean_diff:+.3f} CI [{d.interval.low:+.3f}, {d.interval.high:+.3f}] "
                f"e={d.e_value:.3g} -> {d.verdict}",
            )
        )

    def decision(self) -> dict[str, Any]:
        d: SequentialDecision = self.test.decision()
        a, b = self.arms
        winner = {"b_better": b, "a_better": a}.get(d.verdict)
        return {
            "winner": winner,
            "verdict": d.verdict,
            "n": d.n,
            "mean_diff": d.mean_diff,
            "ci_low": d.interval.low,
            "ci_high": d.interval.high,
            "e_value": d.e_value,
        }


@dataclass
class SuccessiveElimination(Policy):
    """All surviving candidates on the same items; losers leave as soon as the evidence says."""

    strategy = "successive_elimination"
    delta: float = 0.05
    pairs: dict[tuple[str, str], ConfidenceSequence] = field(init=False)
    _next: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        combos = list(itertools.combinations(self.arms, 2))
        level = self.delta / len(combos)  # Bonferroni: every pair's sequence holds at once
        self.pairs = {p: ConfidenceSequence(level) for p in combos}

    def next_round(self) -> dict[str, list[int]]:
        if self.stopped or len(self.active) <= 1 or self._next >= self.n_items:
            return {}
        size = min(self.round_size, self.n_items - self._next)
        room = self._room()
        if room is not None:
            size = min(size, room // len(self.active))
        if size <= 0:
            return {}
        items = list(range(self._next, self._next + size))
        self._next += size
        return {a: items for a in self.active}

    def _update(self, results: dict[str, dict[int, float]]) -> None:
        # active keeps the order of arms and combinations keep it too: (a, b) is a key of pairs
        active = [a for a in self.active if a in results]
        for a, b in itertools.combinations(active, 2):
            items = sorted(set(results[a]) & set(results[b]))
            self.pairs[(a, b)].update([results[b][i] - results[a][i] for i in items])
        beaten = set()
        for a, b in itertools.combinations(self.active, 2):
            interval = self.pairs[(a, b)].interval()
            if interval.low > 0:  # b beats a
                beaten.add(a)
            elif interval.high < 0:
                beaten.add(b)
        out = [a for a in self.active if a in beaten]
        self.active = [a for a in self.active if a not in beaten]
        self.rounds.append(
            RoundLog(
                len(self.rounds) + 1,
                {a: len(results.get(a, {})) for a in self.arms},
                list(self.active),
                out,
                self.leader(),
                self.calls,
            )
        )

    def decision(self) -> dict[str, Any]:
        winner = self.active[0] if len(self.active) == 1 else None
        return {
            "winner": winner,
            "verdict": "best found" if winner else "not separated",
            "best_guess": self.leader(),
            "survivors": list(self.active),
        }


@dataclass
class TopTwoThompson(Policy):
    """Beta posteriors per candidate; calls go to the sampled best or its closest challenger."""

    strategy = "thompson"
    delta: float = 0.05
    beta: float = 0.5
    seed: int = 0
    draws: int = 4000
    _rng: np.random.Generator = field(init=False)
    _next: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        self._rng = np.random.default_rng(self.seed)
        self._next = {a: 0 for a in self.arms}

    def _posterior(self) -> tuple[np.ndarray, np.ndarray]:
        s = np.array([sum(self.scores[a].values()) for a in self.arms])
        n = np.array([len(self.scores[a]) for a in self.arms])
        return 1.0 + s, 1.0 + n - s

    def prob_best(self) -> dict[str, float]:
        a, b = self._posterior()
        samples = self._rng.beta(a, b, size=(self.draws, len(self.arms)))
        wins = np.bincount(samples.argmax(axis=1), minlength=len(self.arms)) / self.draws
        return dict(zip(self.arms, wins.tolist(), strict=True))

    def _done(self) -> bool:
        if self.stopped or all(self._next[a] >= self.n_items for a in self.arms):
            return True
        return bool(self.rounds) and max(self.prob_best().values()) >= 1 - self.delta / len(
            self.arms
        )

    def next_round(self) -> dict[str, list[int]]:
        if self._done():
            return {}
        room = self._room()
        slots = self.round_size if room is None else min(self.round_size, room)
        plan: dict[str, list[int]] = {}
        taken = dict(self._next)
        a_post, b_post = self._posterior()
        for _ in range(max(0, slots)):
            open_ = np.array([taken[a] < self.n_items for a in self.arms])
            if not open_.any():
                break
            pick = self._pick(a_post, b_post, open_)
            arm = self.arms[pick]
            plan.setdefault(arm, []).append(taken[arm])
            taken[arm] += 1
        self._next = taken
        return plan

    def _pick(self, a: np.ndarray, b: np.ndarray, open_: np.ndarray) -> int:
        def sample() -> int:
            theta = self._rng.beta(a, b)
            theta[~open_] = -1.0
            return int(theta.argmax())

        first = sample()
        if self._rng.random() < self.beta or open_.sum() == 1:
            return first
        for _ in range(100):
            other = sample()
            if other != first:
                return other
        return first

    def _update(self, results: dict[str, dict[int, float]]) -> None:
        probs = self.prob_best()
        self.active = [a for a in self.arms if probs[a] > self.delta / len(self.arms)]
        self.rounds.append(
            RoundLog(
                len(self.rounds) + 1,
                {a: len(results.get(a, {})) for a in self.arms},
                list(self.active),
                [],
                max(probs, key=probs.__getitem__),
                self.calls,
                "P(best) " + ", ".join(f"{a}={p:.2f}" for a, p in probs.items()),
            )
        )

    def leader(self) -> str:
        return (
            max(self.prob_best().items(), key=lambda kv: kv[1])[0] if self.calls else self.arms[0]
        )

    def decision(self) -> dict[str, Any]:
        probs = self.prob_best()
        best = max(probs, key=probs.__getitem__)
        sure = probs[best] >= 1 - self.delta / len(self.arms)
        return {
            "winner": best if sure else None,
            "verdict": "best found" if sure else "not separated",
            "best_guess": best,
            "prob_best": probs,
        }
