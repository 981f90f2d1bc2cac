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
from ._run import AdaptiveOutcome, Batch, run_adaptive
from ._sequential import ConfidenceSequence, Interval, SequentialABTest, SequentialDecision
from ._strategies import (
    AUTO,
    STRATEGIES,
    Strategy,
    grid_decision,
    make_policy,
    resolve_strategy,
)

__all__ = [
    "AUTO",
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
    "Strategy",
    "SuccessiveElimination",
    "TopTwoThompson",
    "adaptive_arms",
    "grid_decision",
    "make_policy",
    "resolve_strategy",
    "run_adaptive",
    "run_lab_experiment",
]
