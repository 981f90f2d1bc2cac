"""Adaptive experiments: spend calls where the answer is still open. No Dagster here."""

from ._lab import EVALUATION_COLUMNS, AdaptiveRun, adaptive_arms, run_lab_experiment
from ._policies import (
    PairedEvidence,
    Policy,
    RoundLog,
    SequentialAB,
    SuccessiveElimination,
    TopTwoThompson,
)
from ._run import (
    STRATEGIES,
    AdaptiveOutcome,
    Batch,
    grid_decision,
    make_policy,
    resolve_strategy,
    run_adaptive,
)
from ._sequential import ConfidenceSequence, Interval, SequentialABTest, SequentialDecision

__all__ = [
    "EVALUATION_COLUMNS",
    "STRATEGIES",
    "AdaptiveOutcome",
    "AdaptiveRun",
    "Batch",
    "ConfidenceSequence",
    "Interval",
    "PairedEvidence",
    "Policy",
    "RoundLog",
    "SequentialAB",
    "SequentialABTest",
    "SequentialDecision",
    "SuccessiveElimination",
    "TopTwoThompson",
    "adaptive_arms",
    "grid_decision",
    "make_policy",
    "resolve_strategy",
    "run_adaptive",
    "run_lab_experiment",
]
