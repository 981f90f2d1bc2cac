"""prompt_optimization: propose better prompts, test them on a training split, confirm the
winner on a held-out split, and write a confirmed winner back into the lab."""

# No `from __future__ import annotations`: Dagster reads the context annotation at runtime.

import io
import json
from collections.abc import Callable, Iterator
from typing import Any

import dagster as dg
import pandas as pd
from pydantic import Field

from ..asset_metadata import FINISHED, experiment_key
from ..lab import Lab, LabError
from ..lab._quality import frame_records
from ..lab._schema import ExperimentConfig
from ..optimize import (
    PROPOSAL_COLUMNS,
    OptimizationRun,
    RoundResult,
    optimize_experiment,
    write_winner,
)
from ..partitions import optimize_partitions, same_dataset
from ..report import markdown_table
from ..resources import ArtifactStore, LabResource, LLMResource, MLflowTracking
from ..resources.tracking import CandidateRun
from ._progress import ProgressLogger, judge_engines


class OptimizeRunConfig(dg.Config):
    """Which experiments to optimize (default: every `mode: optimize` one on the dataset)."""

    experiments: list[str] = Field(default_factory=list)
    rounds_per_materialization: int = Field(
        default=1, ge=0, description="Rounds to run now (0: all); a sensor chains the rest"
    )


@dg.asset(
    partitions_def=optimize_partitions,
    ins={"eval_datasets": dg.AssetIn(partition_mapping=same_dataset)},
    group_name="optimize",
    kinds={"litellm", "parquet"},
    io_manager_key="parquet_io_manager",
)
def prompt_optimization(
    context: dg.AssetExecutionContext,
    config: OptimizeRunConfig,
    eval_datasets: pd.DataFrame,
    lab: LabResource,
    llm: LLMResource,
    artifacts: ArtifactStore,
    tracking: MLflowTracking,
) -> Iterator[object]:
    """Every proposal (round, rationale, template, or why it was refused). Each round is also
    recorded as an observation with its running leaderboard; the report says plainly whether
    the held-out test confirmed an improvement."""
    the_lab = lab.load()
    dataset = context.partition_key
    names = config.experiments or the_lab.experiments_for(dataset, mode="optimize")
    records = frame_records(eval_datasets)
    frames: list[pd.DataFrame] = []
    metadata: dict[str, Any] = {}
    sections: list[str] = []
    for name in names:
        experiment = the_lab.experiment(name)
        if experiment.dataset != dataset:
            raise dg.Failure(description=f"experiment {name!r} is on {experiment.dataset!r}")
        run = _optimize(context, config, the_lab, name, records, lab, llm, artifacts)
        if run.confirmed and experiment.optimize.write_back:
            _write_back(context, the_lab, name, run)
        report = _save_outputs(artifacts, dataset, name, run)
        sections.append(report)
        frames.append(run.proposals_frame())
        metadata.update(_run_metadata(name, run))
        tracking.log(_tracking_run(context, the_lab, experiment, dataset, run, report))
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=PROPOSAL_COLUMNS)
    yield dg.Output(
        out,
        metadata={
            "dagster/row_count": len(out),
            **metadata,
            "report": dg.MetadataValue.md("\n\n".join(sections) or "nothing to optimize"),
        },
    )


def _optimize(
    context: dg.AssetExecutionContext,
    config: OptimizeRunConfig,
    the_lab: Lab,
    name: str,
    records: list[dict[str, Any]],
    lab: LabResource,
    llm: LLMResource,
    artifacts: ArtifactStore,
) -> OptimizationRun:
    """Run (or resume) the optimization of experiment ``name``, paying through the LLM
    resource's budget and ledger, with its checkpoint in the artifact store."""
    experiment = the_lab.experiment(name)
    load_state, save_state = _checkpoint(artifacts, name)
    try:
        with llm.paying(
            context,
            artifacts,
            the_lab,
            model=",".join(experiment.models),
            candidate=experiment.optimize.seed_prompt or experiment.prompts[0],
            dataset=experiment.dataset,
            experiments=name,
            experiment=name,
        ) as wallet:

            def on_restart(why: str) -> None:
                context.log.warning(
                    f"{name}: starting afresh, the checkpoint is not resumed: {why}"
                )

            run = optimize_experiment(
                the_lab,
                name,
                records,
                wallet.engine(ProgressLogger(context.log, name, bar=llm.progress_bar)),
                load_state=load_state,
                save_state=save_state,
                on_round=_round_logger(context, experiment.dataset, name),
                on_restart=on_restart,
                judge_engine_for=judge_engines(wallet, context.log),
                limit=lab.limit,
                rounds_now=config.rounds_per_materialization or None,
            )
            wallet.ids["candidate"] = run.seed
    except (LabError, ValueError) as exc:
        raise dg.Failure(description=f"optimizing {name!r}: {exc}") from None
    return run


def _checkpoint(
    artifacts: ArtifactStore, name: str
) -> tuple[Callable[[], dict[str, Any] | None], Callable[[dict[str, Any]], None]]:
    """Load and save the optimization's checkpoint (JSON in the artifact store)."""
    path = ("optimize", name, "checkpoint.json")

    def load_state() -> dict[str, Any] | None:
        target = artifacts.path(*path)
        return json.loads(target.read_text()) if target.exists() else None

    def save_state(state: dict[str, Any]) -> None:
        artifacts.write(json.dumps(state, default=str), *path)

    return load_state, save_state


def _round_logger(
    context: dg.AssetExecutionContext, dataset: str, name: str
) -> Callable[[RoundResult], None]:
    """Log each finished round, and record it as an observation with its leaderboard."""

    def on_round(r: RoundResult) -> None:
        context.log.info(
            f"{name} round {r.round}: "
            f"{sum(p.accepted for p in r.proposals)}/{len(r.proposals)} proposals usable, "
            + ("improved" if r.improved else "no improvement")
        )
        proposals = "\n".join(
            f"- {p.name or 'refused'}: {p.rationale or '-'}"
            + (f" (refused: {p.refused})" if p.refused else "")
            for p in r.proposals
        )
        leaderboard = (
            markdown_table(pd.DataFrame(r.leaderboard))
            if r.leaderboard
            else "no new variant to test"
        )
        context.log_event(
            dg.AssetObservation(
                asset_key=context.asset_key,
                partition=dataset,
                metadata={
                    "experiment": name,
                    "round": r.round,
                    "improved": r.improved,
                    "proposals": dg.MetadataValue.md(proposals),
                    "leaderboard": dg.MetadataValue.md(leaderboard),
                },
            )
        )

    return on_round


def _write_back(
    context: dg.AssetExecutionContext, the_lab: Lab, name: str, run: OptimizationRun
) -> None:
    """Write the confirmed winner into the lab (committed on a branch when it is a git repo)."""
    out = write_winner(
        the_lab.root,
        run.winner,
        run.sources[run.winner],
        f"Optimized prompt {run.seed} -> {run.winner}\n\n"
        f"Rationale: {run.rationales.get(run.winner, '-')}\n\n{run.verdict}\n\n"
        f"llmlab optimize, experiment {name}, Dagster run {context.run.run_id}\n",
    )
    run.written = str(out.path)
    run.branch = out.branch


def _save_outputs(artifacts: ArtifactStore, dataset: str, name: str, run: OptimizationRun) -> str:
    """Store the evaluations (Parquet) and the report (Markdown); the report."""
    evaluations = run.evaluations
    if len(evaluations):
        buffer = io.BytesIO()
        evaluations.to_parquet(buffer, index=False)
        artifacts.write(buffer.getvalue(), "optimize", name, "evaluations.parquet")
    report = run.markdown()
    artifacts.write(report, "reports", dataset, f"optimize_{name}.md")
    return report


def _run_metadata(name: str, run: OptimizationRun) -> dict[str, Any]:
    """The asset's metadata entries for one experiment, prefixed with its name."""
    entries: dict[str, Any] = {
        FINISHED: run.finished,
        "verdict": run.verdict,
        "confirmed": run.confirmed,
        "winner": run.winner,
        "variants_tried": run.variants_tried,
        "rounds": len(run.rounds),
    }
    if run.split is not None:
        entries["distinct_inputs"] = run.split.distinct
        entries["duplicates_grouped"] = run.split.duplicates
        entries["holdout_items"] = len(run.split.holdout)
    entries["restarted"] = run.restarted or "-"
    entries["written"] = str(run.written or "-")
    entries["branch"] = str(run.branch or "-")
    return {experiment_key(name, key): value for key, value in entries.items()}


def _tracking_run(
    context: dg.AssetExecutionContext,
    the_lab: Lab,
    experiment: ExperimentConfig,
    dataset: str,
    run: OptimizationRun,
    report: str,
) -> CandidateRun:
    """The optimization as one tracked run: settings, outcome, report and every prompt."""
    name = run.experiment
    return CandidateRun(
        experiment=name,
        partition=f"optimize|{dataset}",
        name=f"{name} (optimize)",
        params={
            "mode": "optimize",
            "seed_prompt": run.seed,
            "metric": run.metric,
            "variants": experiment.optimize.variants,
            "rounds": experiment.optimize.rounds,
            "optimizer": experiment.optimize.optimizer or experiment.models[0],
        },
        metrics={
            "variants_tried": float(run.variants_tried),
            "rounds_run": float(len(run.rounds)),
            "evaluation_calls": float(run.calls),
            "confirmed": float(run.confirmed),
            **({"train_gain": float(run.train_diff)} if run.train_diff is not None else {}),
        },
        tags={
            "dagster.run_id": context.run.run_id,
            "llmlab.kind": "optimize",
            "llmlab.winner": run.winner,
            "llmlab.confirmed": str(run.confirmed),
            **({"llmlab.git_sha": sha} if (sha := the_lab.git_sha()) else {}),
        },
        files={
            "optimize.md": report,
            **{f"prompts/{n}.jinja": s for n, s in run.sources.items()},
        },
    )
