"""The checkpoint's on-disk format: what earlier versions wrote still loads, and is written back
unchanged."""

from __future__ import annotations

import json
from typing import Any

from llmlab_pipelines.optimize._state import OptimizeState, start_state

#: A checkpoint as the optimizer wrote it before its state was typed (one finished round).
CHECKPOINT: dict[str, Any] = {
    "fingerprint": "3f2a",
    "parts": {"lab folder": "a1", "dataset": "b2", "model": "c3"},
    "split": {"train": ["q1", "q2"], "holdout": ["q3"]},
    "round": 1,
    "pool": ["seed_opt_1234abcd", "seed"],
    "sources": {"seed_opt_1234abcd": "Answer: {{ question }}"},
    "rationales": {"seed_opt_1234abcd": "shorter"},
    "rounds": [
        {
            "round": 1,
            "proposals": [
                {
                    "index": 0,
                    "template": "Answer: {{ question }}",
                    "rationale": "shorter",
                    "refused": None,
                    "name": "seed_opt_1234abcd",
                },
                {
                    "index": 1,
                    "template": None,
                    "rationale": "",
                    "refused": "no TEMPLATE",
                    "name": None,
                },
            ],
            "leaderboard": [
                {"prompt": "seed_opt_1234abcd", "train_mean": 0.9, "items": 2, "status": "kept"},
                {"prompt": "seed", "train_mean": 0.5, "items": 2, "status": "kept"},
            ],
            "improved": True,
            "calls": 6,
            "stopped": None,
        }
    ],
    "tried": ["Answer: {{ question }}", "Q: {{ question }}"],
    "done": False,
    "stopped": None,
}


def test_an_older_checkpoint_loads_and_is_written_back_unchanged() -> None:
    state = OptimizeState.from_checkpoint(json.loads(json.dumps(CHECKPOINT)))
    assert state.round == 1 and state.pool[0] == "seed_opt_1234abcd"
    assert state.variants_tried == 1
    assert state.rounds[0].proposals[1].refused == "no TEMPLATE"
    assert json.loads(json.dumps(state.checkpoint(), default=str)) == CHECKPOINT


def test_a_matching_checkpoint_is_resumed_and_another_starts_afresh() -> None:
    parts, split = CHECKPOINT["parts"], CHECKPOINT["split"]
    resumed, why = start_state(CHECKPOINT, parts, split, "seed", "Q: {{ question }}")
    assert why is None and resumed.round == 1
    fresh, why = start_state(
        CHECKPOINT, {**parts, "model": "changed"}, split, "seed", "Q: {{ question }} "
    )
    assert why == "model changed since the checkpoint"
    assert fresh.round == 0 and fresh.pool == ["seed"] and fresh.rounds == []
    assert fresh.checkpoint()["tried"] == ["Q: {{ question }}"]
    assert set(fresh.checkpoint()) == set(CHECKPOINT)
