"""prompt_optimization: propose better prompts, test them on a training split, confirm the
winner on a held-out split, and write a confirmed winner back into the lab."""

# No `from __future__ import annotations`: Dagster reads the context annotation at runtime.

import io
import json
from collections.abc import Iterator

import dagster as dg
import pandas as pd
from pydantic import Field

from ..lab import LabError
from ..lab._quality import frame_records
from ..optimize import PROPOSAL_COLUMNS, RoundResult, optimize_experiment, write_winner
from ..partitions import dataset_partitions, register_partitions
from ..report import markdown_table
from ..resources import ArtifactStore, LabResource, LLMResource, MLflowTracking
from ..resources.tracking import CandidateRun
from ._progress import ProgressLogger


class OptimizeRunConfig(dg.Config):
    """Which experiments to optimize (default: every `mode: optimize` one on the dataset)."""

    experiments: list[str] = Field(default_factory=list)
    rounds_per_materialization: int = Field(
        default=1, ge=0, description="Rounds to run now (0: all); a sensor chains the rest"
    )


@dg.asset(
    partitions_def=dataset_partitions,
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
    frames, metadata, sections = [], {}, []
    for name in names:
        experiment = the_lab.experiment(name)
        if experiment.dataset != dataset:
            raise dg.Failure(description=f"experiment {name!r} is on {experiment.dataset!r}")
        checkpoint = ("optimize", name, "checkpoint.json")

        def load_state(path: tuple[str, ...] = checkpoint) -> dict[str, object] | None:
            target = artifacts.path(*path)
            return json.loads(target.read_text()) if target.exists() else None

        def save_state(state: dict[str, object], path: tuple[str, ...] = checkpoint) -> None:
            artifacts.write(json.dumps(state, default=str), *path)

        def on_round(r: RoundResult, name: str = name) -> None:
            context.log.info(
                f"{name} round {r.round}: "
                f"{sum(p.accepted for p in r.proposals)}/{len(r.proposals)} proposals usable, "
                + ("improved" if r.improved else "no improvement")
            )
            context.log_event(
                dg.AssetObservation(
                    asset_key=context.asset_key,
                    partition=dataset,
                    metadata={
                        "experiment": name,
                        "round": r.round,
                        "improved": r.improved,
                        "proposals": dg.MetadataValue.md(
                            "\n".join(
                                f"- {p.name or 'refused'}: {p.rationale or '-'}"
                                + (f" (refused: {p.refused})" if p.refused else "")
                                for p in r.proposals
                            )
                        ),
                        "leaderboard": dg.MetadataValue.md(
                            markdown_table(pd.DataFrame(r.leaderboard))
                            if r.leaderboard
                            else "no new variant to test"
                        ),
                    },
                )
            )

        try:
            with llm.paying(
                context,
                artifacts,
                the_lab,
                model=",".join(experiment.models),
                candidate=experiment.optimize.seed_prompt or experiment.prompts[0],
                dataset=dataset,
                experiments=name,
                experiment=name,
            ) as wallet:
                run = optimize_experiment(
                    the_lab,
                    name,
                    records,
                    wallet.engine(ProgressLogger(context.log, name, bar=llm.progress_bar)),
                    load_state=load_state,
                    save_state=save_state,
                    on_round=on_round,
                    on_restart=lambda why, name=name: context.log.warning(
                        f"{name}: starting afresh, the checkpoint is not resumed: {why}"
                    ),
                    judge_engine_for=lambda judge, wallet=wallet: wallet.engine(
                        ProgressLogger(context.log, f"judge {judge}")
                    ),
                    limit=lab.limit,
                    rounds_now=config.rounds_per_materialization or None,
                )
                wallet.ids["candidate"] = run.seed
        except (LabError, ValueError) as exc:
            raise dg.Failure(description=f"optimizing {name!r}: {exc}") from None
        if run.candidate_keys:  # every variant is a candidate the UI lists (known keys stay)
            register_partitions(context.instance, candidates=run.candidate_keys)
        if run.confirmed and experiment.optimize.write_back:
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
        evaluations = run.evaluations
        if len(evaluations):
            buffer = io.BytesIO()
            evaluations.to_parquet(buffer, index=False)
            artifacts.write(buffer.getvalue(), "optimize", name, "evaluations.parquet")
        report = run.markdown()
        artifacts.write(report, "reports", dataset, f"optimize_{name}.md")
        sections.append(report)
        frames.append(run.proposals_frame())
        metadata[f"{name}/finished"] = run.finished
        metadata[f"{name}/verdict"] = run.verdict
        metadata[f"{name}/confirmed"] = run.confirmed
        metadata[f"{name}/winner"] = run.winner
        metadata[f"{name}/variants_tried"] = run.variants_tried
        metadata[f"{name}/rounds"] = len(run.rounds)
        if run.split is not None:
            metadata[f"{name}/distinct_inputs"] = run.split.distinct
            metadata[f"{name}/duplicates_grouped"] = run.split.duplicates
            metadata[f"{name}/holdout_items"] = len(run.split.holdout)
        metadata[f"{name}/restarted"] = run.restarted or "-"
        metadata[f"{name}/written"] = str(run.written or "-")
        metadata[f"{name}/branch"] = str(run.branch or "-")
        tracking.log(
            CandidateRun(
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
        )
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=PROPOSAL_COLUMNS)
    yield dg.Output(
        out,
        metadata={
            "dagster/row_count": len(out),
            **metadata,
            "report": dg.MetadataValue.md("\n\n".join(sections) or "nothing to optimize"),
        },
    )
