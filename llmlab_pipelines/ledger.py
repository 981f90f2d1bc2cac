"""The spend ledger: what every run paid, per model, candidate and day (beside the artifacts).

One small JSON-lines file per materialization that spent money, under ``ledger/<day>/``: written
atomically, never rewritten, so concurrent runs never contend. Period budgets and the ``costs``
asset read it back.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from upath import UPath

from ._atomic import write_atomic
from .engine import Budget, Usage
from .lab import Lab

LEDGER_COLUMNS = [
    "ts",
    "day",
    "run_id",
    "asset",
    "partition",
    "model",
    "candidate",
    "dataset",
    "experiments",
    "calls",
    "prompt_tokens",
    "completion_tokens",
    "cost_usd",
]


@dataclass
class Spend:
    """What one materialization paid (cached answers are free and not counted)."""

    run_id: str
    asset: str
    partition: str
    model: str
    candidate: str
    dataset: str
    experiments: str
    calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float


def spend_of(frame: pd.DataFrame, *, calls: int | None = None, **ids: str) -> Spend:
    """What the rows of a results table not served from the cache cost.

    Args:
        frame: Rows with ``cached``, ``prompt_tokens``, ``completion_tokens``, ``cost_usd``.
        calls: Provider calls made (default: one per paid row).
        ids: ``run_id``, ``asset``, ``partition``, ``model``, ``candidate``, ``dataset``,
            ``experiments``.
    """
    paid = frame[~frame["cached"].astype(bool)] if len(frame) else frame
    return Spend(
        **ids,  # type: ignore[arg-type]
        calls=len(paid) if calls is None else calls,
        prompt_tokens=int(paid["prompt_tokens"].sum()) if len(paid) else 0,
        completion_tokens=int(paid["completion_tokens"].sum()) if len(paid) else 0,
        cost_usd=float(paid["cost_usd"].sum()) if len(paid) else 0.0,
    )


def spend_from(usage: Usage, **ids: str) -> Spend:
    """What the calls tallied in ``usage`` cost, under the ids of the asset that made them.

    Args:
        usage: The engines' tally (every provider call, cached answers not counted).
        ids: ``run_id``, ``asset``, ``partition``, ``model``, ``candidate``, ``dataset``,
            ``experiments``.
    """
    return Spend(
        **ids,  # type: ignore[arg-type]
        calls=usage.calls,
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        cost_usd=usage.cost_usd,
    )


def record(root: UPath, spend: Spend, now: datetime | None = None) -> UPath | None:
    """Append one entry (nothing when nothing was paid for)."""
    if spend.calls == 0 and spend.cost_usd == 0:
        return None
    now = now or datetime.now(UTC)
    day = now.astimezone(UTC).strftime("%Y-%m-%d")
    entry = {"ts": now.astimezone(UTC).isoformat(), "day": day, **asdict(spend)}
    target = root / "ledger" / day / f"{spend.run_id}-{spend.asset}-{uuid.uuid4().hex[:8]}.jsonl"
    write_atomic(target, (json.dumps(entry) + "\n").encode())
    return target


def read(root: UPath) -> pd.DataFrame:
    """Every entry, oldest first."""
    folder = root / "ledger"
    rows: list[dict[str, Any]] = []
    if folder.exists():
        for path in folder.rglob("*.jsonl"):
            rows += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    frame = pd.DataFrame(rows, columns=LEDGER_COLUMNS)
    if len(frame):
        frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
        frame = frame.sort_values("ts", ignore_index=True)
    return frame


def period_spend(frame: pd.DataFrame, now: datetime, timezone: str = "UTC") -> dict[str, float]:
    """Spent today, this week (from Monday) and this month, in the lab's time zone."""
    local = now.astimezone(ZoneInfo(timezone))
    starts = {
        "daily": local.replace(hour=0, minute=0, second=0, microsecond=0),
        "weekly": (local - timedelta(days=local.weekday())).replace(
            hour=0, minute=0, second=0, microsecond=0
        ),
        "monthly": local.replace(day=1, hour=0, minute=0, second=0, microsecond=0),
    }
    if frame.empty:
        return dict.fromkeys(starts, 0.0)
    return {p: float(frame.loc[frame["ts"] >= s, "cost_usd"].sum()) for p, s in starts.items()}


def budget_for(
    lab: Lab,
    root: UPath,
    *,
    candidate_key: str | None = None,
    dataset: str | None = None,
    run_limit: float | None = None,
    experiment: str | None = None,
    now: datetime | None = None,
) -> Budget | None:
    """The tightest of: the run's own limit, the experiment's ``budget_usd`` (``experiment``, or
    the tightest of those using ``candidate_key`` on ``dataset``), and what is left of each
    period budget in ``budgets.yaml``. None when nothing caps this run."""
    caps: list[tuple[float, str]] = []
    if run_limit is not None:
        caps.append((run_limit, "run budget"))
    if experiment is not None and lab.experiment(experiment).budget_usd is not None:
        limit = float(lab.experiment(experiment).budget_usd)  # type: ignore[arg-type]
        caps.append((limit, f"experiment {experiment!r} run budget"))
    if candidate_key and dataset:
        found = lab.run_budget(candidate_key, dataset)
        if found is not None:
            caps.append((found[0], f"experiment {found[1]!r} run budget"))
    limits = lab.budgets.limits()
    if limits:
        spent = period_spend(read(root), now or datetime.now(UTC), lab.budgets.timezone)
        for period, cap in limits.items():
            caps.append(
                (
                    max(0.0, cap - spent[period]),
                    f"{period} budget (${cap:g}, ${spent[period]:.4f} spent before this run)",
                )
            )
    if not caps:
        return None
    limit, label = min(caps)
    return Budget(limit, label=label)
