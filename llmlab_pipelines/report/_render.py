"""Markdown tables and plots for the UI, MLflow and the report file."""

from __future__ import annotations

import base64
import io
import math
from typing import Any

import pandas as pd


def fmt(value: Any, digits: int = 3) -> str:
    """A table cell: numbers rounded, missing values as an en dash."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 1e-3 and value != 0 else f"{value:.{digits}f}"
    return str(value)


def markdown_table(frame: pd.DataFrame, columns: list[str] | None = None) -> str:
    """A GitHub-flavoured Markdown table."""
    columns = columns or list(frame.columns)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for _, row in frame.iterrows():
        lines.append("| " + " | ".join(fmt(row[c]) for c in columns) + " |")
    return "\n".join(lines)


def diff_level_label(board: pd.DataFrame) -> str:
    """The level of the difference intervals, e.g. ``98.33% CI``."""
    levels = board["diff_level"].dropna().unique() if "diff_level" in board else []
    return f"{float(levels[0]):.2%} CI" if len(levels) == 1 else "CI"


def leaderboard_markdown(board: pd.DataFrame, *, metric: str, baseline: str) -> str:
    """The leaderboard with ``mean [low, high]`` and ``diff [low, high]`` cells."""
    view = pd.DataFrame(
        {
            "rank": board["rank"],
            "tier": board["tier"],
            "candidate": [
                f"**{c}** (baseline)" if c == baseline else c for c in board["candidate"]
            ],
            "n": board["n"],
            "missing": board["missing"],
            f"{metric} [95% CI]": [
                f"{fmt(m)} [{fmt(lo)}, {fmt(hi)}]"
                for m, lo, hi in zip(board["mean"], board["ci_low"], board["ci_high"], strict=False)
            ],
            f"Δ vs baseline [{diff_level_label(board)}]": [
                "–" if c == baseline else f"{fmt(d, 3)} [{fmt(lo)}, {fmt(hi)}]"
                for c, d, lo, hi in zip(
                    board["candidate"],
                    board["diff"],
                    board["diff_low"],
                    board["diff_high"],
                    strict=False,
                )
            ],
            "p (adj.)": [fmt(p) for p in board["p_adjusted"]],
            "errors": [f"{e:.1%}" for e in board["error_rate"]],
            "tokens": board["tokens"],
            "cost / 1k items ($)": [fmt(c, 4) for c in board["cost_per_1k"]],
            "latency p50 (s)": [fmt(x, 3) for x in board["latency_p50_s"]],
        }
    )
    return markdown_table(view)


def plot_leaderboard(board: pd.DataFrame, *, metric: str, baseline: str, title: str) -> bytes:
    """Means with 95% error bars, best at the top, baseline in another colour; PNG bytes."""
    from matplotlib.figure import Figure  # no pyplot: no global state, safe in any thread

    ordered = board.iloc[::-1].reset_index(drop=True)
    fig = Figure(figsize=(7, 0.5 * len(ordered) + 1.4), dpi=110)
    ax = fig.add_subplot()
    for y, row in ordered.iterrows():
        color = "#d62728" if row["candidate"] == baseline else "#1f77b4"
        err = [[row["mean"] - row["ci_low"]], [row["ci_high"] - row["mean"]]]
        ax.errorbar([row["mean"]], [y], xerr=err, fmt="o", color=color, capsize=4)
    ax.set_yticks(range(len(ordered)), list(ordered["candidate"]))
    ax.set_xlabel(f"{metric} (mean, 95% CI)")
    return _png(fig, ax, title)


def plot_forest(
    board: pd.DataFrame,
    *,
    metric: str,
    baseline: str,
    title: str,
    family: str = "after correction",
) -> bytes:
    """Differences from the baseline with their CIs (at ``diff_level``) and a line at zero (a
    forest plot), green where the corrected test of ``family`` says significant; PNG."""
    from matplotlib.figure import Figure

    rows = board[board["candidate"] != baseline].iloc[::-1].reset_index(drop=True)
    fig = Figure(figsize=(7, 0.5 * max(len(rows), 1) + 1.4), dpi=110)
    ax = fig.add_subplot()
    ax.axvline(0, color="#555", linewidth=1)
    for y, row in rows.iterrows():
        color = "#2ca02c" if bool(row["significant"]) else "#7f7f7f"
        err = [[row["diff"] - row["diff_low"]], [row["diff_high"] - row["diff"]]]
        ax.errorbar([row["diff"]], [y], xerr=err, fmt="s", color=color, capsize=4)
    ax.set_yticks(range(len(rows)), list(rows["candidate"]))
    ax.set_xlabel(
        f"Δ {metric} vs {baseline} ({diff_level_label(board)}; green = significant, {family})"
    )
    return _png(fig, ax, title)


def _png(fig: Any, ax: Any, title: str) -> bytes:
    """The plot titled, gridded along x and laid out, as PNG bytes."""
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def image_markdown(png: bytes, alt: str) -> str:
    """An inline image the Dagster UI renders inside Markdown metadata."""
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode()})"
