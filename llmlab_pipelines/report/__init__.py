"""Leaderboards, Markdown and plots from scores and comparisons. No Dagster here."""

from __future__ import annotations

from ._collect import MissingScoresError, experiment_scores
from ._gate import GATE_COLUMNS, gate_summary, gate_table
from ._judges import judges_markdown
from ._leaderboard import (
    build_leaderboard,
    candidate_summary,
    detectable_effect,
    family_name,
    item_means,
    items_needed,
    paired_sd,
)
from ._render import (
    fmt,
    image_markdown,
    leaderboard_markdown,
    markdown_table,
    plot_forest,
    plot_leaderboard,
)

__all__ = [
    "GATE_COLUMNS",
    "MissingScoresError",
    "build_leaderboard",
    "candidate_summary",
    "detectable_effect",
    "experiment_scores",
    "family_name",
    "fmt",
    "gate_summary",
    "gate_table",
    "image_markdown",
    "item_means",
    "items_needed",
    "judges_markdown",
    "leaderboard_markdown",
    "markdown_table",
    "paired_sd",
    "plot_forest",
    "plot_leaderboard",
]
