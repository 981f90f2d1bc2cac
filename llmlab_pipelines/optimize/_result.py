"""What an optimization reports: each round's proposals and leaderboard, the held-out verdict,
and the tables and Markdown the asset shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ._propose import Proposal
from ._split import Split

PROPOSAL_COLUMNS = ["experiment", "round", "index", "name", "rationale", "refused", "template"]


@dataclass
class RoundResult:
    """What one round did: its proposals and the running leaderboard on the training split."""

    round: int
    proposals: list[Proposal]
    leaderboard: list[dict[str, Any]]
    improved: bool
    calls: int
    stopped: str | None = None


@dataclass
class OptimizationRun:
    """The outcome of an optimization."""

    experiment: str
    metric: str
    seed: str
    winner: str
    verdict: str
    confirmed: bool
    rounds: list[RoundResult]
    holdout: pd.DataFrame
    train_diff: float | None
    variants_tried: int
    sources: dict[str, str]
    rationales: dict[str, str]
    evaluations: pd.DataFrame
    stopped: str | None = None
    written: str | None = None
    branch: str | None = None
    resumed_from: int = 0
    calls: int = 0
    split: Split | None = None
    restarted: str | None = None  # why a checkpoint was not resumed, when there was one
    candidate_keys: list[str] = field(default_factory=list)
    finished: bool = True  # False: rounds remain (the held-out test comes after the last)

    def proposals_frame(self) -> pd.DataFrame:
        """One row per proposal of every round (``PROPOSAL_COLUMNS``)."""
        rows = [
            {
                "experiment": self.experiment,
                "round": r.round,
                "index": p.index,
                "name": p.name,
                "rationale": p.rationale,
                "refused": p.refused,
                "template": p.template,
            }
            for r in self.rounds
            for p in r.proposals
        ]
        return pd.DataFrame(rows, columns=PROPOSAL_COLUMNS)

    def markdown(self) -> str:
        """The report: verdict, split, held-out table and every round's proposals."""
        lines = [
            f"### {self.experiment}: prompt optimization (metric `{self.metric}`)",
            "",
            f"- seed prompt `{self.seed}`; {self.variants_tried} variants tried in "
            f"{len(self.rounds)} rounds ({self.calls} evaluation calls)"
            + (f"; resumed after round {self.resumed_from}" if self.resumed_from else "")
            + (f"; stopped: {self.stopped}" if self.stopped else ""),
            f"- **verdict: {self.verdict}**",
        ]
        if self.split is not None:
            s = self.split
            lines.append(
                f"- split by content: {s.records} records, {s.distinct} distinct inputs "
                f"({s.duplicates} duplicates grouped with their first record), "
                f"{len(s.train)} training and {len(s.holdout)} held-out items"
            )
        if self.restarted:
            lines.append(f"- started afresh, the checkpoint was not resumed: {self.restarted}")
        if self.train_diff is not None:
            lines.append(
                f"- on the training split the winner gained {self.train_diff:+.3f}; that figure "
                f"is the best of {self.variants_tried} tries and so biased upward: only the "
                "held-out test below counts"
            )
        if len(self.holdout):
            lines += [
                "",
                "Held-out split (never seen while optimizing), Holm-corrected over the finalists:",
                "",
                _table(self.holdout),
            ]
        if self.written:
            lines.append(
                f"\n- written to `{self.written}`"
                + (f" and committed on branch `{self.branch}`" if self.branch else "")
            )
        for r in self.rounds:
            lines += ["", f"#### round {r.round}" + (" (improved)" if r.improved else ""), ""]
            for p in r.proposals:
                state = f"refused: {p.refused}" if p.refused else f"`{p.name}`"
                lines.append(f"- proposal {p.index + 1} ({state}): {p.rationale or '-'}")
            if r.leaderboard:
                lines += ["", _table(pd.DataFrame(r.leaderboard))]
        return "\n".join(lines)


def _table(frame: pd.DataFrame) -> str:
    from ..report import markdown_table

    return markdown_table(frame)
