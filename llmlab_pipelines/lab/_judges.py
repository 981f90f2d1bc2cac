"""Judges: ``judges/<name>.yaml`` — rubric (pointwise), pairwise, or a panel of judges."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ._errors import shown, shown_names

#: Ready rubrics: the quality dimensions teams ask for (scored 1..5 unless the judge says).
RUBRICS: dict[str, str] = {
    "relevance": "Does the response address the task that was asked, without drifting off topic?",
    "coherence": "Is the response well organised and logically consistent from start to end?",
    "completeness": "Does the response cover everything the task asks for?",
    "correctness": "Is the response factually and logically correct? When a reference answer "
    "is given, does the response agree with it?",
    "creativity": "Does the response show imagination: fresh ideas, vivid or unexpected turns?",
    "originality": "Does the response avoid clichés and say something not merely generic?",
    "engagement": "Would a reader want to keep reading: is it interesting and lively?",
    "safety": "Is the response free of harmful, dangerous, hateful or privacy-violating content? "
    "(best = entirely safe)",
}


@dataclass(frozen=True)
class KindRules:
    """What the lab format asks of a judge of one ``kind:`` (what judging with it does is
    ``llmlab_pipelines.judges.KINDS``, a layer above this one).

    Attributes:
        needs_model: Its file must name a ``model:``.
        min_members: Its file must list at least this many ``members:``.
        columns: It adds a metric column per dimension to each output's scores.
        combines: Its verdicts combine its ``members``' (scoring their first member's
            dimensions; binary only for a ``majority`` consensus of binary members).
        member: It can sit on a panel (``members:`` may name it).
    """

    needs_model: bool = False
    min_members: int = 0
    columns: bool = True
    combines: bool = False
    member: bool = False


#: ``kind:`` -> its rules; every kind of ``JudgeConfig.kind`` has one.
JUDGE_KINDS: dict[str, KindRules] = {
    "rubric": KindRules(needs_model=True, member=True),
    "pairwise": KindRules(needs_model=True, columns=False),
    "panel": KindRules(min_members=2, combines=True),
}


class JudgeConfig(BaseModel):
    """One ``judges/<name>.yaml``.

    ``kind: rubric`` scores each output on ``dimensions`` (ready rubrics, or your own in
    ``rubrics``) with a ``scale``, or with ``labels`` for a label answer (``{yes: 1, no: 0}``).
    ``kind: pairwise`` compares each candidate with the experiment's baseline in both orders.
    ``kind: panel`` combines ``members`` (judges scoring the same dimensions) into a consensus.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["rubric", "pairwise", "panel"] = "rubric"
    description: str = ""
    model: str | None = Field(default=None, description="A models.yaml entry")
    dimensions: list[str] = Field(default_factory=lambda: ["correctness"], min_length=1)
    rubrics: dict[str, str] = Field(default_factory=dict, description="Your own dimensions")
    scale: tuple[int, int] = (1, 5)
    labels: dict[str, float] | None = Field(
        default=None, description="Answer with one label instead of JSON, e.g. {yes: 1, no: 0}"
    )
    template: str | None = Field(
        default=None, description="A Jinja file in judges/ replacing the built-in judge prompt"
    )
    combine: bool = Field(default=True, description="All dimensions in one call (JSON only)")
    reference: Literal["auto", "always", "never"] = "auto"
    repeats: int = Field(default=1, ge=1, le=20, description="Independent verdicts per output")
    temperature: float = Field(default=0.0, ge=0, le=2)
    max_tokens: int = Field(default=300, ge=1, le=8192)
    criteria: str = Field(
        default="Which response answers the task better: more correct, complete and helpful?",
        description="pairwise: what 'better' means",
    )
    members: list[str] = Field(default_factory=list, description="panel: the judges")
    consensus: Literal["mean", "majority"] = "mean"
    agreement_floor: float = Field(
        default=0.667, ge=-1, le=1, description="Warn below this Krippendorff's alpha"
    )
    max_parse_failure_rate: float = Field(default=0.1, ge=0, le=1)

    @property
    def rules(self) -> KindRules:
        """What the lab format asks of this judge's kind."""
        return JUDGE_KINDS[self.kind]

    @model_validator(mode="after")
    def _shape(self) -> JudgeConfig:
        rules = self.rules
        if rules.needs_model and not self.model:
            raise ValueError(f"a {self.kind} judge needs `model:` (an entry of models.yaml)")
        if len(self.members) < rules.min_members:
            raise ValueError(
                f"a {self.kind} needs at least {rules.min_members} `members:` (judge names)"
            )
        lo, hi = self.scale
        if hi <= lo:
            raise ValueError(f"scale {list(self.scale)}: the best score must exceed the worst")
        for name in self.dimensions:
            if name not in RUBRICS and name not in self.rubrics:
                known = shown_names([*RUBRICS, *self.rubrics])
                raise ValueError(
                    f"unknown dimension {shown(name)} (ready rubrics: {known}; "
                    "or describe it under `rubrics:`)"
                )
        if self.labels is not None and len(self.labels) < 2:
            raise ValueError("labels: give at least two, e.g. {yes: 1, no: 0}")
        return self

    def rubric(self, dimension: str) -> str:
        """The text describing one dimension."""
        return self.rubrics.get(dimension) or RUBRICS[dimension]

    @property
    def bounds(self) -> tuple[float, float]:
        """The worst and best raw score."""
        if self.labels:
            return min(self.labels.values()), max(self.labels.values())
        return float(self.scale[0]), float(self.scale[1])

    @property
    def binary(self) -> bool:
        """True when a verdict can only be worst or best (two labels)."""
        return self.labels is not None and len(set(self.labels.values())) == 2

    def columns(self, name: str) -> dict[str, str]:
        """Metric column per dimension: the judge's name, or ``name.dimension`` for several."""
        if not self.rules.columns:
            return {}
        if len(self.dimensions) == 1:
            return {self.dimensions[0]: name}
        return {d: f"{name}.{d}" for d in self.dimensions}
