"""The CLI's terminal tables: leaderboards, generation summaries and the dry-run estimate."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from rich.table import Table

    from .asset_metadata import GenerationSummary
    from .lab import Lab


def _print_wide(table: Table) -> None:
    """Print ``table`` on a console at least 110 columns wide."""
    from rich.console import Console

    console = Console()
    console.width = max(console.width, 110)
    console.print(table)


def print_board(name: str, board: pd.DataFrame) -> None:
    """The leaderboard as a terminal table."""
    from rich.table import Table

    metric = str(board["metric"].iloc[0]) if len(board) else ""
    table = Table(title=f"{name} — {metric} (95% CI)")
    for column in (
        "rank",
        "tier",
        "candidate",
        "n",
        "mean [95% CI]",
        "Δ vs baseline [95% CI]",
        "p adj.",
    ):
        table.add_column(column)
    for row in board.itertuples():
        diff = (
            "baseline"
            if row.diff == 0 and pd.isna(row.p_adjusted)
            else (f"{row.diff:+.3f} [{row.diff_low:+.3f}, {row.diff_high:+.3f}]")
        )
        p = (
            ""
            if pd.isna(row.p_adjusted)
            else f"{row.p_adjusted:.2g}" + (" *" if row.significant else "")
        )
        table.add_row(
            str(row.rank),
            str(row.tier),
            str(row.candidate),
            str(row.n),
            f"{row.mean:.3f} [{row.ci_low:.3f}, {row.ci_high:.3f}]",
            diff,
            p,
        )
    _print_wide(table)


def print_generations(generations: Mapping[str, GenerationSummary]) -> None:
    """Calls, generation speed and cost per candidate and dataset, as a terminal table."""
    from rich.table import Table

    table = Table(title="generations")
    columns = ("candidate", "items", "cached", "calls", "tokens/s", "cost ($)", "paid now ($)")
    for column in columns:
        table.add_column(column)
    for label, g in generations.items():
        table.add_row(
            label,
            str(g.rows),
            str(g.cached),
            str(g.calls),  # provider calls made now, retries included
            f"{g.tokens_per_s:,.1f}",
            f"{g.cost_usd:.4f}",  # of every answer, cached ones at what they cost then
            f"{g.paid_usd:.4f}",
        )
    _print_wide(table)


def print_dry_run(lab: Lab, experiments: list[str] | None, limit: int | None, cache: str) -> int:
    """The cost of a run before it is made."""
    from rich.table import Table

    from .engine import estimate_plan
    from .resources import LLMResource

    rows = estimate_plan(
        lab,
        experiments=experiments,
        limit=limit,
        cache=LLMResource(cache="use").response_cache() if cache == "use" else None,
    )
    table = Table(title="dry run: nothing is called")
    for column in (
        "candidate",
        "dataset",
        "calls",
        "cached",
        "to call",
        "est. prompt tok",
        "max completion tok",
        "est. max cost ($)",
    ):
        table.add_column(column)
    for r in rows:
        table.add_row(
            r.candidate,
            r.dataset,
            str(r.calls),
            str(r.cached),
            str(r.to_call),
            f"{r.prompt_tokens:,}",
            f"{r.completion_tokens:,}",
            f"{r.cost_usd:.4f}",
        )
    _print_wide(table)
    total = sum(r.cost_usd for r in rows)
    print(f"total: {sum(r.to_call for r in rows)} calls to make, at most ${total:.4f}")
    return 0
