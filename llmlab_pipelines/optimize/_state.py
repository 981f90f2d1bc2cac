"""An optimization's state between rounds, and its checkpoint: the JSON object a run saves after
every round and resumes from (its keys are the on-disk format; older checkpoints stay readable)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from ._propose import Proposal
from ._result import RoundResult
from ._split import resume_check


@dataclass
class OptimizeState:
    """Where an optimization stands after its last finished round.

    Args:
        fingerprint: Digest of ``parts`` (what the optimization is of).
        parts: The content fingerprints of the lab, dataset, model, prompt, metric, settings.
        split: The item ids of the training and held-out splits.
        round: The last finished round (0: none yet).
        pool: The prompts kept for the next round, best first.
        sources: Every accepted variant's template, by prompt name.
        rationales: Every accepted variant's rationale, by prompt name.
        rounds: What each finished round did.
        tried: Every template tried (stripped), so none is tried twice.
        done: True once a round brought no improvement.
        stopped: Why the run stopped (a budget ran out), if it did.
    """

    fingerprint: str
    parts: dict[str, str]
    split: dict[str, list[str]]
    pool: list[str]
    tried: set[str]
    round: int = 0
    sources: dict[str, str] = field(default_factory=dict)
    rationales: dict[str, str] = field(default_factory=dict)
    rounds: list[RoundResult] = field(default_factory=list)
    done: bool = False
    stopped: str | None = None

    @classmethod
    def fresh(
        cls, parts: dict[str, str], split: dict[str, list[str]], seed: str, seed_source: str
    ) -> OptimizeState:
        """The state before the first round: the seed prompt alone in the pool."""
        digest = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()
        return cls(digest, parts, split, pool=[seed], tried={seed_source.strip()})

    @classmethod
    def from_checkpoint(cls, data: dict[str, Any]) -> OptimizeState:
        """The state a checkpoint (as :meth:`checkpoint` wrote it) holds."""
        return cls(
            fingerprint=str(data.get("fingerprint", "")),
            parts=dict(data["parts"]),
            split=dict(data["split"]),
            round=int(data["round"]),
            pool=list(data["pool"]),
            sources=dict(data["sources"]),
            rationales=dict(data["rationales"]),
            rounds=[_round_from(r) for r in data["rounds"]],
            tried=set(data["tried"]),
            done=bool(data["done"]),
            stopped=data.get("stopped"),
        )

    def checkpoint(self) -> dict[str, Any]:
        """The state as the JSON-ready checkpoint object."""
        return {
            "fingerprint": self.fingerprint,
            "parts": self.parts,
            "split": self.split,
            "round": self.round,
            "pool": list(self.pool),
            "sources": dict(self.sources),
            "rationales": dict(self.rationales),
            "rounds": [_round_to(r) for r in self.rounds],
            "tried": sorted(self.tried),
            "done": self.done,
            "stopped": self.stopped,
        }

    @property
    def variants_tried(self) -> int:
        """Accepted proposals over every round."""
        return sum(1 for r in self.rounds for p in r.proposals if p.accepted)


def start_state(
    checkpoint: dict[str, Any] | None,
    parts: dict[str, str],
    split: dict[str, list[str]],
    seed: str,
    seed_source: str,
) -> tuple[OptimizeState, str | None]:
    """The checkpoint's state when it is of this very optimization, else a fresh one.

    Returns:
        The state, and why the checkpoint was not resumed (None: resumed, or none there).
    """
    restarted = resume_check(checkpoint, parts, split)
    if not checkpoint or restarted:
        return OptimizeState.fresh(parts, split, seed, seed_source), restarted
    return OptimizeState.from_checkpoint(checkpoint), None


def _round_to(r: RoundResult) -> dict[str, Any]:
    return {
        "round": r.round,
        "proposals": [p.__dict__ for p in r.proposals],
        "leaderboard": r.leaderboard,
        "improved": r.improved,
        "calls": r.calls,
        "stopped": r.stopped,
    }


def _round_from(d: dict[str, Any]) -> RoundResult:
    return RoundResult(
        d["round"],
        [Proposal(**p) for p in d["proposals"]],
        d["leaderboard"],
        d["improved"],
        d["calls"],
        d.get("stopped"),
    )
