"""LLM judges: rubric, pairwise (both orders), panels with measured agreement. No Dagster here.

Each ``kind:`` of judge is a :class:`JudgeKind` listed in :data:`KINDS`.
"""

from __future__ import annotations

from ._agreement import (
    AGREEMENT_COLUMNS,
    agreement_table,
    dataset_agreement,
    judged_outputs,
    unmeasured_judges,
)
from ._confusion import CONFUSION_COLUMNS, experiment_judges, judge_vs_metrics
from ._kind import JudgeKind, RaterGroup
from ._kinds import KINDS, judge_callers, judges_producing, kind_of
from ._pairwise import PAIRWISE_COLUMNS, pairwise_judgements, pairwise_summary
from ._parse import ParseError, parse_pairwise, parse_rubric
from ._prompts import fence, pairwise_prompt, rubric_prompt
from ._rubric import JUDGE_COLUMNS, judge_outputs
from ._scores import judge_metric_columns, judge_reason_columns

__all__ = [
    "AGREEMENT_COLUMNS",
    "CONFUSION_COLUMNS",
    "JUDGE_COLUMNS",
    "KINDS",
    "PAIRWISE_COLUMNS",
    "JudgeKind",
    "ParseError",
    "RaterGroup",
    "agreement_table",
    "dataset_agreement",
    "experiment_judges",
    "fence",
    "judge_callers",
    "judge_metric_columns",
    "judge_outputs",
    "judge_reason_columns",
    "judge_vs_metrics",
    "judged_outputs",
    "judges_producing",
    "kind_of",
    "pairwise_judgements",
    "pairwise_prompt",
    "pairwise_summary",
    "parse_pairwise",
    "parse_rubric",
    "rubric_prompt",
    "unmeasured_judges",
]
