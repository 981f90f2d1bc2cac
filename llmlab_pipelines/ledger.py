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
    "invocation",
    "candidate_key",
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
    #: The ``llmlab run`` (or, for a run started elsewhere, the Dagster run) that paid.
    invocation: str = ""
    #: The candidate partition the calls were made for, when there is one.
    candidate_key: str = ""


def spend_of(frame: pd.DataFrame, *, calls: int | None = None, **ids: str) -> Spend:
    """What the rows of a results table not served from the cache cost.

    Args:
        frame: Rows with ``cached``, ``prompt_tokens``, ``completion_tokens``, ``cost_usd``.
        calls: Provider calls made (default: one per paid row).
        ids: ``run_id``, ``asset``, ``partition``, ``model``, ``candidate``, ``dataset``,
            ``experiments`` and optionally ``invocation``, ``candidate_key``.
    """
    paid = frame[~frame["cached"].astype(bool)] if len(frame) else frame
    return Spend(
        **ids,
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
            ``experiments`` and optionally ``invocation``, ``candidate_key``.
    """
    return Spend(
        **ids,
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


#: What the spend is summed by, per day (the ``costs`` asset's table).
BY_DAY = ["day", "model", "candidate", "dataset", "asset"]
_AMOUNTS = ["calls", "prompt_tokens", "completion_tokens", "cost_usd"]


def by_day(frame: pd.DataFrame) -> pd.DataFrame:
    """Calls, tokens and USD per day x model x candidate x dataset x asset."""
    if frame.empty:
        return pd.DataFrame(columns=[*BY_DAY, *_AMOUNTS])
    return frame.groupby(BY_DAY, as_index=False)[_AMOUNTS].sum()


def per_experiment(frame: pd.DataFrame, lab: Lab, names: list[str]) -> dict[str, float]:
    """USD spent for each experiment: the entries naming it, made for one of its candidates (or
    for no candidate partition in particular). An entry may count for several experiments that
    share a candidate."""
    if frame.empty:
        return dict.fromkeys(names, 0.0)
    return {n: float(frame.loc[_counts_for(lab, frame, n), "cost_usd"].sum()) for n in names}


def _counts_for(lab: Lab, frame: pd.DataFrame, experiment: str) -> pd.Series:
    """Which entries are spend for ``experiment``: they name it, and were made for one of its
    candidates or for none in particular (judges of a dataset, the optimizer, old entries)."""
    keys = {c.key for c in lab.candidates(experiment)}
    candidate = (
        frame["candidate_key"].fillna("").astype(str)
        if "candidate_key" in frame
        else pd.Series("", index=frame.index)
    )
    return _naming(frame, experiment) & ((candidate == "") | candidate.isin(keys))


def _naming(frame: pd.DataFrame, experiment: str) -> pd.Series:
    """Which entries count for ``experiment`` (their ``experiments`` list names it)."""
    return frame["experiments"].fillna("").astype(str).str.split(",").map(lambda e: experiment in e)


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
    invocation: str | None = None,
    now: datetime | None = None,
) -> Budget | None:
    """The tightest cap on the calls about to be made, or None when nothing caps them.

    The caps: the run's own limit; what is left of the ``budget_usd`` of ``experiment`` and of
    each experiment using ``candidate_key`` on ``dataset`` (an experiment's budget holds for one
    invocation: what the ledger holds for ``invocation`` and that experiment is subtracted); and
    what is left of each period budget in ``budgets.yaml``.

    Args:
        lab: The lab (experiments and budgets).
        root: The artifact store's root, where the ledger lives.
        candidate_key: The candidate partition the calls are for.
        dataset: Its dataset (with ``candidate_key``).
        run_limit: The run's own limit (the LLM resource's ``budget_usd``).
        experiment: The experiment the calls are for.
        invocation: The invocation paying (default: none, so nothing spent earlier counts).
        now: The time period budgets are counted at (default: now).
    """
    caps: list[tuple[float, str]] = []
    if run_limit is not None:
        caps.append((run_limit, "run budget"))
    names = _capped_experiments(lab, experiment, candidate_key, dataset)
    limits = lab.budgets.limits()
    entries = read(root) if (invocation and names) or limits else None
    for name in names:
        cap = float(lab.experiment(name).budget_usd or 0.0)
        spent = _spent_by(lab, entries, name, invocation) if entries is not None else 0.0
        label = f"experiment {name!r} run budget"
        if spent > 0:
            label += f" (${cap:g}, ${spent:.4f} spent earlier in this run)"
        caps.append((max(0.0, cap - spent), label))
    if limits and entries is not None:
        spent_in = period_spend(entries, now or datetime.now(UTC), lab.budgets.timezone)
        for period, cap in limits.items():
            caps.append(
                (
                    max(0.0, cap - spent_in[period]),
                    f"{period} budget (${cap:g}, ${spent_in[period]:.4f} spent before this run)",
                )
            )
    if not caps:
        return None
    limit, label = min(caps)
    return Budget(limit, label=label)


def _capped_experiments(
    lab: Lab, experiment: str | None, candidate_key: str | None, dataset: str | None
) -> list[str]:
    """``experiment`` and the experiments using ``candidate_key`` on ``dataset``, if capped."""
    names = [experiment] if experiment is not None else []
    if candidate_key and dataset:
        names += [
            e
            for e in lab.experiments_for(dataset)
            if any(c.key == candidate_key for c in lab.candidates(e))
        ]
    return [n for n in dict.fromkeys(names) if lab.experiment(n).budget_usd is not None]


def _spent_by(lab: Lab, entries: pd.DataFrame, experiment: str, invocation: str | None) -> float:
    """What ``invocation`` already spent for ``experiment``: entries naming it, made for one of
    its candidates (or for no candidate partition in particular)."""
    if entries.empty or not invocation:
        return 0.0
    mine = entries[entries["invocation"] == invocation]
    return float(mine.loc[_counts_for(lab, mine, experiment), "cost_usd"].sum())
