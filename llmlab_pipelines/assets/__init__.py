"""The lab pipeline's assets, one module per domain."""

from __future__ import annotations

from .adaptive import adaptive_runs
from .comparisons import comparisons
from .costs import costs
from .datasets import eval_datasets
from .generations import generations
from .judges import judge_agreement, judge_scores, pairwise
from .nightly import nightly_scores
from .optimize import prompt_optimization
from .promoted import promoted
from .reports import leaderboard
from .scores import scores

ALL_ASSETS = [
    eval_datasets,
    generations,
    judge_scores,
    scores,
    comparisons,
    leaderboard,
    promoted,
    judge_agreement,
    pairwise,
    nightly_scores,
    costs,
    adaptive_runs,
    prompt_optimization,
]

__all__ = [
    "ALL_ASSETS",
    "adaptive_runs",
    "comparisons",
    "costs",
    "eval_datasets",
    "generations",
    "judge_agreement",
    "judge_scores",
    "leaderboard",
    "nightly_scores",
    "pairwise",
    "promoted",
    "prompt_optimization",
    "scores",
]
