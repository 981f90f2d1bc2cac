"""Adaptive policies: who gets the calls, when they stop, and what they decide."""

from __future__ import annotations

import numpy as np
import pytest

from llmlab_pipelines.adaptive import (
    Batch,
    grid_decision,
    make_policy,
    resolve_strategy,
    run_adaptive,
)


def table(rng: np.random.Generator, means: dict[str, float], n: int) -> dict[str, np.ndarray]:
    return {a: (rng.random(n) < p).astype(float) for a, p in means.items()}


def simulate(strategy: str, data: dict[str, np.ndarray], **kw: object):
    n = len(next(iter(data.values())))
    policy = make_policy(strategy, list(data), n, **kw)  # type: ignore[arg-type]
    seen: list[tuple[str, int]] = []

    def evaluate(plan: dict[str, list[int]]) -> Batch:
        seen.extend((a, i) for a, items in plan.items() for i in items)
        return Batch({a: {i: float(data[a][i]) for i in items} for a, items in plan.items()})

    return run_adaptive(policy, evaluate), seen


def test_successive_elimination_drops_the_clear_loser_first_and_finds_the_best() -> None:
    data = table(np.random.default_rng(0), {"weak": 0.1, "mid": 0.5, "best": 0.9}, 400)
    out, seen = simulate("successive_elimination", data, round_size=10)
    assert out.decision["winner"] == "best"
    assert out.decision["verdict"] == "best found"
    assert out.calls == len(seen) == len(set(seen))  # each (candidate, item) at most once
    assert out.calls < 0.3 * out.grid_calls
    assert out.items_seen["weak"] <= out.items_seen["mid"] <= out.items_seen["best"]
    first_out = next(r for r in out.rounds if r.eliminated)
    assert "weak" in first_out.eliminated and "best" not in first_out.eliminated


def test_thompson_sends_the_calls_to_the_contenders() -> None:
    data = table(np.random.default_rng(1), {"a": 0.2, "b": 0.75, "c": 0.85}, 500)
    out, _ = simulate("thompson", data, round_size=20, seed=3)
    assert out.decision["best_guess"] == "c"
    assert out.items_seen["a"] < out.items_seen["b"]
    assert out.calls < out.grid_calls


def test_sequential_ab_stops_once_decided() -> None:
    data = table(np.random.default_rng(2), {"base": 0.3, "new": 0.9}, 1000)
    out, seen = simulate("auto", data, round_size=10)
    assert out.strategy == "sequential"
    assert out.decision["verdict"] == "b_better" and out.decision["winner"] == "new"
    assert out.calls < 200
    # both candidates on the same items: the comparison stays paired
    assert {i for a, i in seen if a == "base"} == {i for a, i in seen if a == "new"}


def test_max_calls_and_an_outside_stop_are_respected() -> None:
    data = table(np.random.default_rng(4), {"x": 0.5, "y": 0.5, "z": 0.5}, 300)
    out, _ = simulate("successive_elimination", data, round_size=10, max_calls=90)
    assert out.calls <= 90
    assert out.decision["verdict"] == "not separated"

    policy = make_policy("thompson", ["x", "y"], 300, round_size=10)

    def evaluate(plan: dict[str, list[int]]) -> Batch:
        return Batch({a: dict.fromkeys(items, 1.0) for a, items in plan.items()}, "budget reached")

    stopped = run_adaptive(policy, evaluate)
    assert stopped.stopped == "budget reached" and len(stopped.rounds) == 1


def test_scores_outside_zero_one_and_wrong_strategies_are_refused() -> None:
    policy = make_policy("successive_elimination", ["a", "b", "c"], 10, round_size=5)
    policy.next_round()
    with pytest.raises(ValueError, match=r"scores in \[0, 1\].*'a' scored 3.0"):
        policy.observe({"a": {0: 3.0}})
    with pytest.raises(ValueError, match="exactly 2 candidates"):
        resolve_strategy("sequential", 3)
    with pytest.raises(ValueError, match="unknown strategy"):
        resolve_strategy("bandit", 3)
    assert resolve_strategy("auto", 2) == "sequential"
    assert resolve_strategy("auto", 4) == "successive_elimination"


def test_the_grid_decision_matches_the_adaptive_one_on_a_clear_case() -> None:
    data = table(np.random.default_rng(5), {"weak": 0.2, "best": 0.9, "mid": 0.5}, 300)
    out, _ = simulate("successive_elimination", data, round_size=10)
    out.grid = grid_decision("successive_elimination", data)
    assert out.grid["winner"] == "best" and out.same_as_grid is True
    out.grid = {"verdict": "not separated", "winner": None}
    assert out.same_as_grid is False
    ab = {"a": data["weak"], "b": data["best"]}
    assert grid_decision("sequential", ab)["verdict"] == "b_better"
