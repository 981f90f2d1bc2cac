"""Prompt optimization: propose, test and promote better prompts, honestly. No Dagster here."""

from ._loop import PROPOSAL_COLUMNS, OptimizationRun, RoundResult, optimize_experiment
from ._propose import END, Failure, Proposal, check_variant, optimizer_prompt, parse_proposal
from ._writeback import WriteBack, write_winner

__all__ = [
    "END",
    "PROPOSAL_COLUMNS",
    "Failure",
    "OptimizationRun",
    "Proposal",
    "RoundResult",
    "WriteBack",
    "check_variant",
    "optimize_experiment",
    "optimizer_prompt",
    "parse_proposal",
    "write_winner",
]
