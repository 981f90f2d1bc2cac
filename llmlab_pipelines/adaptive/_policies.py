"""How an adaptive experiment spends its calls, round by round.

Each policy answers two questions: which (candidate, item) pairs to evaluate next, and whether
it is done. Items are positions in a shuffled order of the dataset, so every prefix is a random
sample. Scores must be in ``[0, 1]``.

- :class:`SequentialAB`: two candidates on the same items, an always-valid test after each round.
- :class:`SuccessiveElimination`: every surviving candidate on the same items; a candidate
  leaves as soon as another one beats it with confidence (paired confidence sequences,
  Bonferroni over the pairs), so the calls go where the ranking is still open.
- :class:`TopTwoThompson`: Beta posteriors; each call goes to the posterior's sampled best or,
  half the time, to its strongest challenger (Russo 2016). It stops on the same evidence as
  successive elimination, never on the posterior: a posterior probability checked after every
  round is not an error rate (stopping at ``P(best) >= 1 - delta / K`` declared a best in 18%
  of runs between two equal candidates).

Both multi-candidate strategies share :class:`PairedEvidence`: one confidence sequence per pair
of candidates for the mean paired difference, at level ``delta / (K (K - 1) / 2)``. All of them
hold at every look at once with probability ``1 - delta``; then the true best is never beaten,
so a candidate is only declared best (every other one beaten, directly or through another)
when it is the true best, and between equal candidates nothing is declared. ``delta`` is
therefore the chance, over the whole run, of declaring a best that is not the (unique) best.
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

    def _log_round(
        self, results: dict[str, dict[int, float]], out: list[str], leader: str, note: str = ""
    ) -> None:
        """Record the round just observed: what each candidate was evaluated on, and after."""
        evaluated = {a: len(results.get(a, {})) for a in self.arms}
        self.rounds.append(
            RoundLog(
                len(self.rounds) + 1, evaluated, list(self.active), out, leader, self.calls, note
            )
        )


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
        self._log_round(
            results,
            [],
            self.leader(),
            f"diff {d.mean_diff:+.3f} CI [{d.interval.low:+.3f}, {d.interval.high:+.3f}] "
            f"e={d.e_value:.3g} -> {d.verdict}",
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


class PairedEvidence:
    """Time-uniform confidence sequences for ``mean(b - a)`` of every pair, Bonferroni over pairs.

    Candidates walk the same shuffled item order, each at its own pace; a pair's sequence takes
    the paired differences of the items both have scored, in that order (the common prefix), so
    it is valid however the calls were spread over the candidates.

    Args:
        arms: The candidates; pairs are keyed ``(a, b)`` in this order.
        delta: The error allowed over all pairs and all looks together.
    """

    def __init__(self, arms: list[str], delta: float) -> None:
        if not 0 < delta < 1:
            raise ValueError(f"delta must be in (0, 1), got {delta}")
        self.arms = list(arms)
        combos = list(itertools.combinations(self.arms, 2))
        self.pairs = {p: ConfidenceSequence(delta / len(combos)) for p in combos}
        self._fed = dict.fromkeys(combos, 0)

    def update(self, scores: dict[str, dict[int, float]]) -> None:
        """Feed every pair the items both candidates have now scored, in item order."""
        for (a, b), cs in self.pairs.items():
            sa, sb, k = scores[a], scores[b], self._fed[(a, b)]
            diffs = []
            while k in sa and k in sb:
                diffs.append(sb[k] - sa[k])
                k += 1
            if diffs:
                cs.update(diffs)
                self._fed[(a, b)] = k

    def eliminate(
        self, scores: dict[str, dict[int, float]], active: list[str]
    ) -> tuple[list[str], list[str]]:
        """Feed the new scores, then split ``active`` into those still in and those beaten."""
        self.update(scores)
        beaten = self.beaten(active)
        return [a for a in active if a not in beaten], [a for a in active if a in beaten]

    def beaten(self, among: list[str]) -> set[str]:
        """The candidates of ``among`` that another one of ``among`` beats with confidence."""
        order = [a for a in self.arms if a in among]
        out = set()
        for a, b in itertools.combinations(order, 2):
            interval = self.pairs[(a, b)].interval()
            if interval.low > 0:  # b beats a
                out.add(a)
            elif interval.high < 0:
                out.add(b)
        return out


@dataclass
class SuccessiveElimination(Policy):
    """All surviving candidates on the same items; losers leave as soon as the evidence says."""

    strategy = "successive_elimination"
    delta: float = 0.05
    evidence: PairedEvidence = field(init=False)
    _next: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.evidence = PairedEvidence(self.arms, self.delta)

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
        self.active, out = self.evidence.eliminate(self.scores, self.active)
        self._log_round(results, out, self.leader())

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
    """Top-two Thompson sampling to spend the calls, paired confidence sequences to stop.

    Each call goes to the Beta posteriors' sampled best or, with probability ``1 - beta``, to
    its strongest challenger, among the candidates not yet beaten; every candidate takes the
    items in the shared order. A candidate leaves once another beats it with confidence
    (:class:`PairedEvidence`), and the run stops when one is left: ``delta`` bounds the chance
    of declaring a wrong best, looks after every round included.
    """

    strategy = "thompson"
    delta: float = 0.05
    beta: float = 0.5
    seed: int = 0
    draws: int = 1000  # for P(best), shown per round; it decides nothing
    evidence: PairedEvidence = field(init=False)
    _rng: np.random.Generator = field(init=False)
    _next: dict[str, int] = field(init=False)
    _probs: dict[str, float] = field(init=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.evidence = PairedEvidence(self.arms, self.delta)
        self._rng = np.random.default_rng(self.seed)
        self._next = {a: 0 for a in self.arms}
        self._probs = dict.fromkeys(self.arms, 1.0 / len(self.arms))

    def _posterior(self) -> tuple[np.ndarray, np.ndarray]:
        s = np.array([sum(self.scores[a].values()) for a in self.arms])
        n = np.array([len(self.scores[a]) for a in self.arms])
        return 1.0 + s, 1.0 + n - s

    def prob_best(self) -> dict[str, float]:
        """The posterior probability that each candidate is the best (evidence, not a test)."""
        a, b = self._posterior()
        samples = self._rng.beta(a, b, size=(self.draws, len(self.arms)))
        wins = np.bincount(samples.argmax(axis=1), minlength=len(self.arms)) / self.draws
        return dict(zip(self.arms, wins.tolist(), strict=True))

    def _open(self, taken: dict[str, int]) -> np.ndarray:
        return np.array([a in self.active and taken[a] < self.n_items for a in self.arms])

    def next_round(self) -> dict[str, list[int]]:
        if self.stopped or len(self.active) <= 1 or not self._open(self._next).any():
            return {}
        room = self._room()
        slots = max(0, self.round_size if room is None else min(self.round_size, room))
        plan: dict[str, list[int]] = {}
        taken = dict(self._next)
        picks: list[int] = []
        while slots:
            open_ = self._open(taken)
            if not open_.any():
                break
            if not picks:  # the posterior is the round's; draw again only when an arm runs out
                picks = self._picks(open_, slots)
            arm = self.arms[picks.pop(0)]
            plan.setdefault(arm, []).append(taken[arm])
            taken[arm] += 1
            slots -= 1
            if taken[arm] >= self.n_items:
                picks = []
        self._next = taken
        return plan

    def _picks(self, open_: np.ndarray, count: int) -> list[int]:
        """``count`` top-two draws: the sampled best or, with probability ``1 - beta``, the
        first different best among up to 100 resamples (the best itself when none differs)."""
        a, b = self._posterior()
        k = len(self.arms)
        first = np.where(open_, self._rng.beta(a, b, size=(count, k)), -1.0).argmax(axis=1)
        if int(open_.sum()) == 1:
            return first.tolist()
        picks = first.copy()
        swap = np.flatnonzero(self._rng.random(count) >= self.beta)
        if swap.size:
            draws = self._rng.beta(a, b, size=(swap.size, 100, k))
            again = np.where(open_, draws, -1.0).argmax(axis=2)
            differs = again != first[swap, None]
            other = again[np.arange(swap.size), differs.argmax(axis=1)]
            picks[swap] = np.where(differs.any(axis=1), other, first[swap])
        return picks.tolist()

    def _update(self, results: dict[str, dict[int, float]]) -> None:
        self.active, out = self.evidence.eliminate(self.scores, self.active)
        probs = self._probs = self.prob_best()
        note = "P(best) " + ", ".join(f"{a}={p:.2f}" for a, p in probs.items())
        self._log_round(results, out, max(self.active, key=probs.__getitem__), note)

    def leader(self) -> str:
        if not self.calls:
            return self.arms[0]
        return max(self.active or self.arms, key=self._probs.__getitem__)

    def decision(self) -> dict[str, Any]:
        probs = self._probs  # as of the last round
        winner = self.active[0] if len(self.active) == 1 else None
        return {
            "winner": winner,
            "verdict": "best found" if winner else "not separated",
            "best_guess": winner or max(self.active or self.arms, key=probs.__getitem__),
            "survivors": list(self.active),
            "prob_best": probs,
        }
