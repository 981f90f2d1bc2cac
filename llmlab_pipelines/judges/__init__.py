"""LLM judges: rubric, pairwise (both orders), panels with measured agreement. No Dagster here."""

from __future__ import annotations

from ._parse import ParseError, parse_pairwise, parse_rubric
from ._prompts import fence, pairwise_prompt, rubric_prompt
from ._run import (
    JUDGE_COLUMNS,
    PAIRWISE_COLUMNS,
    agreement_table,
    judge_metric_columns,
    judge_outputs,
    pairwise_judgements,
    pairwise_summary,
)

__all__ = [
    "JUDGE_COLUMNS",
    "PAIRWISE_COLUMNS",
    "ParseError",
    "agreement_table",
    "fence",
    "judge_metric_columns",
    "judge_outputs",
    "pairwise_judgements",
    "pairwise_prompt",
    "pairwise_summary",
    "parse_pairwise",
    "parse_rubric",
    "rubric_prompt",
]
