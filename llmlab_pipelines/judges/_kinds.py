"""The judge kinds: ``kind:`` of ``judges/<name>.yaml`` -> what judging with it does.

A new kind is a :class:`~._kind.JudgeKind` subclass in its own module plus one line here (and
its ``kind:`` name and fields in the lab format, ``lab/_judges.py``).
"""

from __future__ import annotations

from collections.abc import Iterable

from ..lab import Lab
from ._kind import JudgeKind, Produces
from ._pairwise import PairwiseKind
from ._panel import PanelKind
from ._rubric import RubricKind

KINDS: dict[str, JudgeKind] = {
    kind.name: kind for kind in (RubricKind(), PairwiseKind(), PanelKind())
}


def kind_of(lab: Lab, name: str) -> JudgeKind:
    """The kind of judge ``name``."""
    return KINDS[lab.judges[name].kind]


def judges_producing(lab: Lab, names: Iterable[str], produces: Produces) -> list[str]:
    """The judges of ``names`` whose verdicts become ``produces`` (see :data:`Produces`)."""
    return [n for n in names if kind_of(lab, n).produces == produces]


def judge_callers(lab: Lab, names: Iterable[str]) -> list[str]:
    """The judges whose calls score each output for ``names`` (a panel's members), in order."""
    out: dict[str, None] = {}
    for name in names:
        out.update(dict.fromkeys(kind_of(lab, name).callers(lab, name)))
    return list(out)
