"""adaptive_runs: `mode: adaptive` experiments, evaluated in rounds until the answer is clear."""

# No `from __future__ import annotations`: Dagster reads the context annotation at runtime.

from collections.abc import Iterator
from typing import Any

import dagster as dg
import pandas as pd

from ..adaptive import EVALUATION_COLUMNS, AdaptiveRun, RoundLog, run_lab_experiment
from ..lab import Lab, LabError
from ..lab._quality import frame_records
from ..partitions import adaptive_partitions, of_dataset, same_dataset, tables_by_candidate
from ..report import markdown_table
from ..resources import ArtifactStore, LabResource, LLMResource, MLflowTracking
from ..resources.tracking import CandidateRun
from ._progress import ProgressLogger, judge_engines


@dg.asset(
    partitions_def=adaptive_partitions,
    ins={
        "eval_datasets": dg.AssetIn(partition_mapping=same_dataset),
        "scores": of_dataset("scores"),
    },
    group_name="adaptive",
    kinds={"litellm", "parquet"},
    io_manager_key="parquet_io_manager",
)
def adaptive_runs(
    context: dg.AssetExecutionContext,
    eval_datasets: pd.DataFrame,
    scores: dict[str, pd.DataFrame],
    lab: LabResource,
    llm: LLMResource,
    artifacts: ArtifactStore,
    tracking: MLflowTracking,
) -> Iterator[object]:
    """Every `mode: adaptive` experiment on this dataset: one row per evaluation it made, with
    its round. Candidates that are clearly worse stop early; a two-candidate A/B test stops as
    soon as its always-valid test decides. The metadata compares the calls with the full grid's
    and, where the grid's scores exist, its decision with the grid's."""
    the_lab = lab.load()
    dataset = context.partition_key
    names = the_lab.experiments_for(dataset, mode="adaptive")
    if not names:
        context.log.info(f"dataset {dataset!r} has no `mode: adaptive` experiment")
    records = frame_records(eval_datasets)
    grid = tables_by_candidate(scores, set(the_lab.all_candidates())) if scores else {}
    frames: list[pd.DataFrame] = []
    metadata: dict[str, str | int | float | bool] = {}
    sections: list[str] = []
    for name in names:
        try:
            run = _run_experiment(context, the_lab, name, records, grid, lab, llm, artifacts)
        except (LabError, ValueError) as exc:
            raise dg.Failure(description=f"adaptive experiment {name!r}: {exc}") from None
        frames.append(run.evaluations)
        report = run.markdown() + "\n\n" + markdown_table(run.outcome.rounds_frame())
        artifacts.write(report, "reports", dataset, f"adaptive_{name}.md")
        sections.append(report)
        if run.outcome.stopped:
            context.log.warning(f"{name}: partial, {run.outcome.stopped}")
        metadata.update(run.metadata())
        tracking.log(_tracked_run(context, the_lab, dataset, run, report))
    out = (
        pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=EVALUATION_COLUMNS)
    )
    yield dg.Output(
        out,
        metadata={
            "dagster/row_count": len(out),
            **metadata,
            "report": dg.MetadataValue.md("\n\n".join(sections)),
        },
    )


def _run_experiment(
    context: dg.AssetExecutionContext,
    the_lab: Lab,
    name: str,
    records: list[dict[str, Any]],
    grid: dict[str, pd.DataFrame],
    lab: LabResource,
    llm: LLMResource,
    artifacts: ArtifactStore,
) -> AdaptiveRun:
    """One adaptive experiment, its generation and judge calls paid from one wallet."""
    config = the_lab.experiment(name)

    def on_round(r: RoundLog) -> None:
        context.log.info(
            f"{name} round {r.round}: {r.calls} calls, leader {r.leader}"
            + (f", out: {', '.join(r.eliminated)}" if r.eliminated else "")
            + (f"; {r.note}" if r.note else "")
        )

    with llm.paying(
        context,
        artifacts,
        the_lab,
        model=",".join(config.models),
        candidate=",".join(c.label for c in the_lab.candidates(name)),
        dataset=context.partition_key,
        experiments=name,
        experiment=name,
    ) as wallet:
        run = run_lab_experiment(
            the_lab,
            name,
            records,
            wallet.engine(ProgressLogger(context.log, name, bar=llm.progress_bar)),
            judge_engine_for=judge_engines(wallet, context.log),
            grid_scores=grid,
            on_round=on_round,
            limit=lab.limit,
        )
        wallet.ids["candidate"] = ",".join(sorted(set(run.evaluations["candidate"])))
    return run


def _tracked_run(
    context: dg.AssetExecutionContext, the_lab: Lab, dataset: str, run: AdaptiveRun, report: str
) -> CandidateRun:
    """The tracking run of one adaptive experiment: its settings, calls, decision, report."""
    config = the_lab.experiment(run.experiment)
    summary = run.outcome.summary()
    return CandidateRun(
        experiment=run.experiment,
        partition=f"adaptive|{dataset}",
        name=f"{run.experiment} (adaptive)",
        params={
            "mode": "adaptive",
            "strategy": summary["strategy"],
            "metric": run.metric,
            "round_size": config.adaptive.round_size,
            "delta": config.adaptive.delta,
            "alpha": config.alpha,
            "dataset": dataset,
        },
        metrics=run.tracked_metrics(),
        tags={
            "dagster.run_id": context.run.run_id,
            "llmlab.kind": "adaptive",
            "llmlab.decision": str(summary["verdict"]),
            "llmlab.winner": str(summary["winner"] or "none"),
            "llmlab.same_as_grid": str(summary["same_as_grid"]),
            **({"llmlab.git_sha": sha} if (sha := the_lab.git_sha()) else {}),
        },
        files={"adaptive.md": report},
    )
