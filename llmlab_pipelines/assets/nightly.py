"""nightly_scores: the benchmark experiments re-run every night into a daily history."""

# No `from __future__ import annotations`: Dagster reads the context annotation at runtime.

import os
from collections.abc import Iterator
from datetime import date, timedelta

import dagster as dg
import numpy as np
import pandas as pd

from ..engine import build_requests
from ..lab import Candidate, Lab, LabError
from ..metrics import MetricError, score_frame
from ..partitions import night_partitions
from ..report import markdown_table
from ..resources import ArtifactStore, LabResource, LLMResource
from ..resources.artifacts import ParquetUPathIOManager
from ..stats import StatsError
from ..stats._compare import adjust
from ..stats._paired import compare_pair
from ._metadata import shown, usd
from ._progress import ProgressLogger

TRAILING_NIGHTS = 7


def nightly_timezone() -> str:
    """``LLMLAB_TIMEZONE`` (default UTC): the time zone of the nightly schedule's nights."""
    return os.environ.get("LLMLAB_TIMEZONE", "UTC")


def trailing_nights(night: str, count: int = TRAILING_NIGHTS) -> list[str]:
    """The ``count`` calendar nights before ``night`` (``YYYY-MM-DD``), oldest first."""
    try:
        day = date.fromisoformat(night)
    except ValueError:
        raise dg.Failure(
            description=f"nightly_scores partition {night!r} is not a night (YYYY-MM-DD)"
        ) from None
    return [(day - timedelta(days=n)).isoformat() for n in range(count, 0, -1)]


@dg.asset(
    partitions_def=night_partitions,
    group_name="nightly",
    kinds={"litellm", "parquet"},
    io_manager_key="parquet_io_manager",
    check_specs=[
        dg.AssetCheckSpec(
            "score_drift",
            asset="nightly_scores",
            description=f"Warns when tonight's score differs significantly (paired on "
            f"items, Holm-corrected over candidates) from the trailing {TRAILING_NIGHTS} "
            "nights.",
        )
    ],
)
def nightly_scores(
    context: dg.AssetExecutionContext,
    lab: LabResource,
    llm: LLMResource,
    artifacts: ArtifactStore,
    parquet_io_manager: dg.ResourceParam[ParquetUPathIOManager],  # the trailing nights
) -> Iterator[object]:
    """Every candidate of every ``nightly: true`` experiment, generated afresh and scored.

    One partition per night the benchmark ran (the nightly schedule registers it), so the UI
    counts no night as missing that was never asked for; tonight is compared with the nights
    that ran in the :data:`TRAILING_NIGHTS` calendar nights before it."""
    the_lab = lab.load()
    names = [n for n, e in the_lab.experiments.items() if e.nightly]
    if not names:
        raise dg.Failure(
            description="no experiment has `nightly: true`; add it to the benchmark experiments"
        )
    history = parquet_io_manager.load_partitions_of(
        context.asset_key, trailing_nights(context.partition_key)
    )
    frames, stopped = [], []
    for name in names:
        for cand in the_lab.candidates(name):
            frame, stopped_by = _night_of(context, the_lab, name, cand, llm, artifacts, lab.limit)
            frames.append(frame)
            if stopped_by:
                stopped.append(f"{name}/{cand.label}: {stopped_by}")
                context.log.warning(f"partial: {name}/{cand.label}: {stopped_by}")
    tonight = pd.concat(frames, ignore_index=True)
    past = pd.concat(history.values(), ignore_index=True) if history else tonight.iloc[0:0]
    means = tonight.groupby(["experiment", "candidate"], sort=False)["score"].mean()
    yield dg.Output(
        tonight,
        metadata={
            "dagster/row_count": len(tonight),
            "cache": llm.cache,
            "cost_usd": usd(tonight["cost_usd"].sum()),
            "partial": bool(stopped),
            **({"stopped_by": "; ".join(stopped)} if stopped else {}),
            "history": dg.MetadataValue.md(history_markdown(pd.concat([past, tonight]))),
            # one number per candidate: the UI plots each across partitions, night by night
            **{f"mean/{e}/{c}": shown(v) for (e, c), v in means.items()},
        },
    )
    yield drift_check(drift_table(tonight, past), past)


def _night_of(
    context: dg.AssetExecutionContext,
    the_lab: Lab,
    name: str,
    cand: Candidate,
    llm: LLMResource,
    artifacts: ArtifactStore,
    limit: int | None,
) -> tuple[pd.DataFrame, str | None]:
    """One candidate of one experiment tonight: generated afresh (paid, in the ledger) and
    scored; and why calls were refused, if they were."""
    config = the_lab.experiment(name)
    records = the_lab.datasets[config.dataset].records
    try:
        requests = build_requests(
            the_lab, the_lab.plan(cand.key, config.dataset), records, limit=limit
        )
    except LabError as exc:
        raise dg.Failure(description=str(exc)) from None
    with llm.paying(
        context,
        artifacts,
        the_lab,
        model=cand.model,
        candidate=cand.label,
        dataset=config.dataset,
        experiments=name,
        experiment=name,
    ) as wallet:
        results = wallet.engine(ProgressLogger(context.log, cand.label, bar=False)).run(requests)
    try:
        scored = score_frame(
            pd.DataFrame([r.row() for r in results]), records, [config.metric], the_lab.metrics
        )
    except MetricError as exc:
        raise dg.Failure(description=str(exc)) from None
    frame = scored.assign(
        night=context.partition_key,
        experiment=name,
        candidate=cand.label,
        candidate_key=cand.key,
        metric=config.metric,
        score=scored[config.metric].astype(float),
    )[NIGHTLY_COLUMNS]
    return frame, wallet.stopped_by


def drift_check(drift: pd.DataFrame, past: pd.DataFrame) -> dg.AssetCheckResult:
    """``score_drift``: warns on the candidates whose score moved significantly tonight."""
    flagged = drift[drift["drift"]] if len(drift) else drift
    return dg.AssetCheckResult(
        check_name="score_drift",
        passed=flagged.empty,
        severity=dg.AssetCheckSeverity.WARN,
        description=(
            "no earlier nights to compare with"
            if past.empty
            else "no drift"
            if flagged.empty
            else "; ".join(
                f"{r.experiment}/{r.candidate}: {r.trailing:.3f} -> {r.tonight:.3f} "
                f"(p_adj {r.p_adjusted:.3g})"
                for r in flagged.itertuples()
            )
        ),
        metadata={"table": dg.MetadataValue.md(markdown_table(drift)) if len(drift) else ""},
    )


NIGHTLY_COLUMNS = [
    "night",
    "experiment",
    "candidate",
    "candidate_key",
    "item_id",
    "repeat",
    "metric",
    "score",
    "output",
    "error",
    "cached",
    "prompt_tokens",
    "completion_tokens",
    "cost_usd",
    "latency_s",
]


def drift_table(tonight: pd.DataFrame, past: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Tonight vs the trailing nights, per experiment x candidate, paired on items."""
    rows = []
    for (exp, cand), group in tonight.groupby(["experiment", "candidate"], sort=False):
        before = past[(past["experiment"] == exp) & (past["candidate"] == cand)]
        if before.empty:
            continue
        now = group.groupby("item_id")["score"].mean()
        then = before.groupby("item_id")["score"].mean()
        common = now.index.intersection(then.index)
        row = {
            "experiment": exp,
            "candidate": cand,
            "nights": before["night"].nunique(),
            "n": len(common),
            "trailing": float(then.loc[common].mean()) if len(common) else float("nan"),
            "tonight": float(now.loc[common].mean()) if len(common) else float("nan"),
        }
        try:
            result = compare_pair(
                then.loc[common].to_numpy(float),
                now.loc[common].to_numpy(float),
                test="ttest",
                alpha=alpha,
                n_boot=2000,
                seed=0,
            )
            row["p_value"] = result.p_value
        except StatsError:
            row["p_value"] = 1.0
        rows.append(row)
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    table["p_adjusted"] = adjust(table["p_value"].to_numpy(float), "holm")
    table["drift"] = table["p_adjusted"] < alpha
    return table


def history_markdown(frame: pd.DataFrame) -> str:
    """Nights as rows, candidates as columns: the mean score."""
    table = frame.pivot_table(
        index="night", columns=["experiment", "candidate"], values="score", aggfunc="mean"
    )
    table.columns = [f"{e}/{c}" for e, c in table.columns]
    return markdown_table(table.reset_index().replace({np.nan: None}))
