"""costs: what the lab spent, per model, candidate, experiment and day, against its budgets."""

# No `from __future__ import annotations`: Dagster reads the context annotation at runtime.

import io
from collections.abc import Iterator
from datetime import UTC, datetime

import dagster as dg
import pandas as pd

from .. import ledger
from ..report import image_markdown, markdown_table
from ..resources import ArtifactStore, LabResource, MLflowTracking
from ..resources.tracking import CandidateRun
from ._metadata import usd


@dg.asset(
    group_name="analysis",
    kinds={"parquet"},
    io_manager_key="parquet_io_manager",
    automation_condition=dg.AutomationCondition.on_cron("*/30 * * * *"),
    check_specs=[
        dg.AssetCheckSpec(
            "budget_usage",
            asset="costs",
            description="Warns when today's, this week's or this month's spend reaches "
            "`warn_at` (default 80%) of its cap in budgets.yaml.",
        )
    ],
)
def costs(
    context: dg.AssetExecutionContext,
    lab: LabResource,
    artifacts: ArtifactStore,
    tracking: MLflowTracking,
) -> Iterator[object]:
    """Spend per day x model x candidate x dataset (tokens and USD), from the spend ledger."""
    the_lab = lab.load()
    entries = ledger.read(artifacts.path())
    frame = ledger.by_day(entries)
    spent = ledger.period_spend(entries, datetime.now(UTC), the_lab.budgets.timezone)
    plot = plot_daily(frame)
    if plot is not None:
        artifacts.write(plot, "reports", "costs.png")
    by_model = frame.groupby("model")["cost_usd"].sum() if len(frame) else pd.Series(dtype=float)
    per_experiment = ledger.per_experiment(entries, the_lab, list(the_lab.experiments))
    tracking.log(  # one MLflow experiment "llmlab-costs", its run updated in place
        CandidateRun(
            experiment="llmlab-costs",
            partition="costs",
            name="costs",
            params={"lab": str(the_lab.root.name)},
            metrics={
                "cost_usd_total": float(frame["cost_usd"].sum()) if len(frame) else 0.0,
                **{f"spent_{p}_usd": v for p, v in spent.items()},
                **{f"experiment/{n}_usd": v for n, v in per_experiment.items()},
                **{f"model/{m}_usd": float(v) for m, v in by_model.items()},
            },
            tags={"dagster.run_id": context.run.run_id, "llmlab.kind": "costs"},
            files={"costs.png": plot} if plot is not None else {},
        )
    )
    yield dg.Output(
        frame,
        metadata={
            "dagster/row_count": len(frame),
            "total_usd": usd(frame["cost_usd"].sum()) if len(frame) else 0.0,
            **{f"spent_{p}_usd": usd(v) for p, v in spent.items()},
            **{f"model/{m}": usd(v) for m, v in by_model.items()},
            "by_day": dg.MetadataValue.md(
                (image_markdown(plot, "spend per day") + "\n\n" if plot is not None else "")
                + (markdown_table(frame.tail(30)) if len(frame) else "nothing spent yet")
            ),
        },
    )
    yield budget_check(spent, the_lab.budgets.limits(), the_lab.budgets.warn_at)


def budget_check(
    spent: dict[str, float], limits: dict[str, float], warn_at: float
) -> dg.AssetCheckResult:
    """``budget_usage``: warns when a period's spend reaches ``warn_at`` of its cap."""
    over = {p: (spent[p], cap) for p, cap in limits.items() if spent[p] >= warn_at * cap}
    return dg.AssetCheckResult(
        check_name="budget_usage",
        passed=not over,
        severity=dg.AssetCheckSeverity.WARN,
        description="; ".join(
            f"{p}: ${s:.2f} of ${c:g} ({s / c:.0%}, warning at {warn_at:.0%})"
            for p, (s, c) in over.items()
        )
        or (
            "within every budget: "
            + ", ".join(f"{p} ${spent[p]:.2f} of ${c:g}" for p, c in limits.items())
            if limits
            else "no period budgets in budgets.yaml"
        ),
        metadata={f"{p}_share": spent[p] / c for p, c in limits.items()},
    )


def plot_daily(frame: pd.DataFrame) -> bytes | None:
    """Stacked bars: USD per day and model."""
    if frame.empty:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = frame.pivot_table(index="day", columns="model", values="cost_usd", aggfunc="sum")
    fig, ax = plt.subplots(figsize=(7, 3.2))
    table.plot.bar(stacked=True, ax=ax)
    ax.set_ylabel("USD")
    ax.set_title("spend per day and model")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return buffer.getvalue()
