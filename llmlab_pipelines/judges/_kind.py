"""What a judge kind is: the part of judging that differs from one ``kind:`` to another.

A kind subclasses :class:`JudgeKind` in its own module and is listed once in
:data:`llmlab_pipelines.judges.KINDS`; what its ``judges/<name>.yaml`` must contain is the lab
format's half (``llmlab_pipelines.lab._judges.JUDGE_KINDS``, which cannot import this package).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar, Literal

import pandas as pd

from ..lab import Lab
from ..lab._labels import HumanLabels
from ..stats._agreement import Level

#: What a kind's verdicts become: metric columns on every output (the ``scores`` table), or
#: each candidate against the experiment's baseline (the ``pairwise`` table).
Produces = Literal["scores", "pairwise"]


@dataclass(frozen=True)
class RaterGroup:
    """Ratings whose agreement is measured: ``unit, rater, value`` rows and how to read them.

    Attributes:
        group: The judge or panel the row of the agreement table is for.
        dimension: The rubric dimension rated.
        ratings: One row per unit (an output) and rater.
        level: How values compare (nominal labels, ordinal scales, ...).
        floor: The judge's ``agreement_floor``.
        raters: Who the raters are, for people reading the table.
        humans: Whether one rater is people (``labels/<dataset>.jsonl``).
    """

    group: str
    dimension: str
    ratings: pd.DataFrame
    level: Level
    floor: float
    raters: str
    humans: bool = False


class JudgeKind:
    """A judge kind; the defaults describe a kind that adds no score and measures nothing."""

    #: The ``kind:`` of ``judges/<name>.yaml``.
    name: ClassVar[str] = ""
    #: What its verdicts become (see :data:`Produces`).
    produces: ClassVar[Produces] = "scores"

    def callers(self, lab: Lab, name: str) -> list[str]:
        """The judges whose calls make judge ``name``'s per-output verdicts (``judge_scores``).

        Args:
            lab: The lab.
            name: A judge of this kind.
        """
        return []

    def metric_columns(self, lab: Lab, name: str, wide: pd.DataFrame) -> dict[str, pd.Series]:
        """``column -> score in [0, 1]`` per output, from the verdicts' mean score per column.

        Args:
            lab: The lab.
            name: A judge of this kind.
            wide: ``(item_id, repeat)`` rows, one column per verdict column (rubric judges).
        """
        return {}

    def rater_groups(
        self, lab: Lab, name: str, verdicts: pd.DataFrame, labels: HumanLabels | None
    ) -> Iterator[RaterGroup]:
        """The groups of raters whose agreement tells how far judge ``name`` can be trusted.

        Args:
            lab: The lab.
            name: A judge of this kind.
            verdicts: Parsed rubric verdicts with a ``unit`` column (one output) and, when
                known, the ``output`` text judged.
            labels: The dataset's human labels, if it has any.
        """
        return iter(())
