"""Adaptive strategies come from one registry: the lab format, the policies and the grid's
answer agree with it, and a registered strategy is what runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, get_args

import numpy as np
import pytest

from llmlab_pipelines.adaptive import (
    AUTO,
    STRATEGIES,
    SequentialAB,
    Strategy,
    SuccessiveElimination,
    TopTwoThompson,
    grid_decision,
    make_policy,
    resolve_strategy,
)
from llmlab_pipelines.adaptive._grid import best_decision
from llmlab_pipelines.lab import LabError, load_lab
from llmlab_pipelines.lab._schema import AdaptiveConfig

FILES = {
    "models.yaml": "m:\n  model: openai/x\n",
    "datasets/d.jsonl": "".join(f'{{"id": "{i}", "q": "q", "expected": "a"}}\n' for i in range(9)),
}


def test_the_lab_format_offers_exactly_the_registered_strategies() -> None:
    offered = get_args(AdaptiveConfig.model_fields["strategy"].annotation)
    assert offered == (AUTO, *STRATEGIES)
    assert all(s.name == name for name, s in STRATEGIES.items())


@pytest.mark.parametrize("name", [n for n, s in STRATEGIES.items() if s.arms is not None])
def test_the_lab_refuses_the_candidates_a_strategy_cannot_compare(
    name: str, write_lab: Any
) -> None:
    arms = STRATEGIES[name].arms
    assert arms is not None
    prompts = [f"p{i}" for i in range(arms + 1)]
    files = {f"prompts/{p}.jinja": "{{ q }}" for p in prompts}
    experiment = (
        f"dataset: d\nprompts: [{', '.join(prompts)}]\nmodels: [m]\nmetrics: [exact_match]\n"
        f"mode: adaptive\nadaptive:\n  strategy: {name}\n"
    )
    root = write_lab({**FILES, **files, "experiments/e.yaml": experiment})
    with pytest.raises(LabError, match=rf"e.yaml:7: .*exactly {arms} candidates"):
        load_lab(root)
    with pytest.raises(ValueError, match=f"exactly {arms} candidates, not {arms + 1}"):
        resolve_strategy(name, arms + 1)


def test_each_policy_gets_its_own_settings() -> None:
    kw: dict[str, Any] = {"round_size": 5, "alpha": 0.1, "delta": 0.2, "margin": 0.3, "seed": 7}
    ab = make_policy("sequential", ["a", "b"], 10, **kw)
    assert isinstance(ab, SequentialAB) and (ab.alpha, ab.margin) == (0.1, 0.3)
    elimination = make_policy("successive_elimination", ["a", "b", "c"], 10, **kw)
    assert isinstance(elimination, SuccessiveElimination) and elimination.delta == 0.2
    thompson = make_policy("thompson", ["a", "b", "c"], 10, max_calls=12, **kw)
    assert isinstance(thompson, TopTwoThompson)
    assert (thompson.delta, thompson.seed, thompson.max_calls) == (0.2, 7, 12)
    assert make_policy(AUTO, ["a", "b"], 10, round_size=5).strategy == "sequential"


def test_a_registered_strategy_is_what_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    @dataclass
    class Everything(SuccessiveElimination):
        strategy = "everything"

    monkeypatch.setitem(STRATEGIES, "everything", Strategy(Everything, ("delta",), best_decision))
    assert resolve_strategy("everything", 3) == "everything"
    policy = make_policy("everything", ["a", "b", "c"], 10, round_size=5, delta=0.1)
    assert isinstance(policy, Everything) and policy.delta == 0.1
    table = {"a": np.zeros(40), "b": np.ones(40), "c": np.zeros(40)}
    assert grid_decision("everything", table)["winner"] == "b"
    with pytest.raises(ValueError, match=r"choose one of auto, sequential, .*, everything"):
        resolve_strategy("nothing", 3)
