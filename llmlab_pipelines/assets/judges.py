"""judge_scores, judge_agreement, pairwise: LLM judges on the outputs, and their reliability."""

# No `from __future__ import annotations`: Dagster reads the context annotation at runtime.

from collections.abc import Iterator

import dagster as dg
import pandas as pd

from ..judges import (
    dataset_agreement,
    judge_callers,
    judge_outputs,
    judges_producing,
    pairwise_judgements,
    pairwise_summary,
    unmeasured_judges,
)
from ..lab import Lab, LabError
from ..lab._quality import frame_records
from ..locks import partition_lock
from ..partitions import (
    dataset_partitions,
    generation_partitions,
    of_dataset,
    pairwise_partitions,
    same_dataset,
    split_key,
    tables_by_candidate,
)
from ..report import markdown_table
from ..resources import ArtifactStore, LabResource, LLMResource, MLflowTracking
from ..resources.tracking import CandidateRun
from ..secrets import redact_frame
from ._automation import ANALYSIS_CONDITION
from ._metadata import redact_metadata, shown, usd
from ._progress import ProgressLogger, judge_engines

#: The check on ``judge_scores``.
PARSE_FAILURES = dg.AssetCheckSpec(
    "judge_parse_failures",
    asset="judge_scores",
    description="Fails when a judge's unusable replies (after one retry telling it what "
    "was wrong) exceed its `max_parse_failure_rate`; each failure is listed with its reason.",
)

#: The check on ``judge_agreement``.
AGREEMENT_FLOOR = dg.AssetCheckSpec(
    "judge_agreement_floor",
    asset="judge_agreement",
    description="Warns when a judge group's Krippendorff's alpha is below its "
    "`agreement_floor` (its scores are not reliable enough to rank by), and when a judge's "
    "reliability could not be measured at all (nothing to compare it with): never green "
    "for an untested judge.",
)


@dg.asset(
    partitions_def=generation_partitions,
    ins={"eval_datasets": of_dataset("eval_datasets", one=True)},
    group_name="evaluation",
    kinds={"litellm", "parquet"},
    io_manager_key="parquet_io_manager",
    check_specs=[PARSE_FAILURES],
)
def judge_scores(
    context: dg.AssetExecutionContext,
    generations: pd.DataFrame,
    eval_datasets: pd.DataFrame,
    lab: LabResource,
    llm: LLMResource,
    artifacts: ArtifactStore,
) -> Iterator[object]:
    """Every rubric judge's verdict per output and dimension: raw score, score in [0, 1], the
    judge's reason, any failure, and the judge's tokens and cost."""
    candidate, dataset = split_key(context.partition_key)
    the_lab = lab.load()
    names = judge_callers(the_lab, the_lab.judge_names_for(candidate, dataset))
    try:
        with (
            llm.paying(
                context,
                artifacts,
                the_lab,
                model=",".join(sorted({str(the_lab.judges[n].model) for n in names})),
                candidate=candidate,
                dataset=dataset,
                experiments=",".join(the_lab.experiments_for(dataset)),
                candidate_key=candidate,
                partition=context.partition_key,
            ) as wallet,
            partition_lock(f"judges|{context.partition_key}", on_wait=context.log.info),
        ):
            frame = judge_outputs(
                the_lab,
                names,
                generations,
                frame_records(eval_datasets),
                judge_engines(wallet, context.log),
            )
    except LabError as exc:
        raise dg.Failure(description=str(exc)) from None
    frame = redact_frame(frame)
    yield dg.Output(frame, metadata=redact_metadata(_verdicts_metadata(frame, names)))
    yield parse_failure_check(the_lab, names, frame)


def _verdicts_metadata(frame: pd.DataFrame, names: list[str]) -> dict[str, object]:
    """``judge_scores``' metadata: the judges, their cost, mean scores and failures."""
    failures = frame[frame["failure"].notna()]
    return {
        "dagster/row_count": len(frame),
        "judges": ", ".join(names) or "none",
        "judge_cost_usd": usd(frame["cost_usd"].sum()),
        "judge_tokens": int(frame["prompt_tokens"].sum() + frame["completion_tokens"].sum()),
        **{
            f"mean/{column}": shown(group["score"].mean())
            for column, group in frame.groupby("column")
        },
        "failures": dg.MetadataValue.md(
            markdown_table(failures[["item_id", "judge", "dimension", "failure", "error"]].head(20))
            if len(failures)
            else "none"
        ),
    }


def parse_failure_check(lab: Lab, names: list[str], frame: pd.DataFrame) -> dg.AssetCheckResult:
    """Per judge: the share of verdicts that could not be used, against its limit."""
    lines, ok, rates = [], True, {}
    for name in names:
        own = frame[frame["judge"] == name]
        rate = float(own["failure"].notna().mean()) if len(own) else 0.0
        rates[name] = rate
        limit = lab.judges[name].max_parse_failure_rate
        if rate > limit:
            ok = False
            worst = own[own["failure"].notna()].iloc[0]
            lines.append(
                f"{name}: {rate:.1%} of verdicts unusable (limit {limit:.0%}); e.g. item "
                f"{worst['item_id']!r}: {worst['failure']} failure: {worst['error']}"
            )
    return dg.AssetCheckResult(
        check_name=PARSE_FAILURES.name,
        passed=ok,
        description="\n".join(lines) or ("no judges" if not names else "every verdict parsed"),
        metadata={"failure_rates": dg.MetadataValue.json(rates)},
    )


@dg.asset(
    partitions_def=dataset_partitions,
    ins={
        "judge_scores": of_dataset("judge_scores"),
        "scores": of_dataset("scores"),
    },
    group_name="analysis",
    kinds={"krippendorff", "parquet"},
    io_manager_key="parquet_io_manager",
    automation_condition=ANALYSIS_CONDITION,
    check_specs=[AGREEMENT_FLOOR],
)
def judge_agreement(
    context: dg.AssetExecutionContext,
    judge_scores: dict[str, pd.DataFrame],
    scores: dict[str, pd.DataFrame],
    lab: LabResource,
    tracking: MLflowTracking,
) -> Iterator[object]:
    """How far the judges can be trusted: agreement of a judge with itself (repeats), of a
    panel's members, and of each judge with people on the outputs they labelled
    (``labels/<dataset>.jsonl``), with 95% bootstrap intervals."""
    the_lab = lab.load()
    dataset = context.partition_key
    known = set(the_lab.all_candidates())
    tables = tables_by_candidate(judge_scores, known)
    outputs = tables_by_candidate(scores, known)
    table = dataset_agreement(the_lab, dataset, tables, outputs)
    for experiment in the_lab.experiments_for(dataset):
        if table.empty or not the_lab.experiment(experiment).judges:
            continue
        tracking.log(
            CandidateRun(
                experiment=experiment,
                partition=f"judge_agreement|{dataset}",
                name=f"judge agreement on {dataset}",
                params={"dataset": dataset},
                metrics=agreement_metrics(table),
                tags={"dagster.run_id": context.run.run_id, "llmlab.kind": "judge_agreement"},
                files={"judge_agreement.parquet": table.to_parquet(index=False)},
            )
        )
    yield dg.Output(
        table,
        metadata={
            "dagster/row_count": len(table),
            "table": dg.MetadataValue.md(
                markdown_table(table) if len(table) else "no judge groups"
            ),
        },
    )
    yield agreement_floor_check(table, unmeasured_judges(the_lab, dataset, table))


def agreement_metrics(table: pd.DataFrame) -> dict[str, float]:
    """MLflow metrics of the agreement table: alpha and kappa with their bounds, and n."""
    out = {}
    for r in table.itertuples():
        who = f"{r.group}/{r.dimension}" + ("/humans" if r.humans else "")
        for key, value in (
            ("alpha", r.krippendorff_alpha),
            ("alpha_low", r.alpha_low),
            ("alpha_high", r.alpha_high),
            ("kappa", r.cohen_kappa),
            ("kappa_low", r.kappa_low),
            ("kappa_high", r.kappa_high),
            ("n", r.n_items),
        ):
            if pd.notna(value):
                out[f"{key}/{who}"] = float(value)
    return out


def agreement_floor_check(
    table: pd.DataFrame, unmeasured: dict[str, str] | None = None
) -> dg.AssetCheckResult:
    """A warning naming every judge group below its floor and every judge whose agreement
    could not be measured; it passes only when every judge was measured and is above its floor.
    """
    low = table[table["below_floor"]] if len(table) else table
    lines = [
        f"{r.group}/{r.dimension} ({r.raters}): alpha {r.krippendorff_alpha:.2f} < {r.floor:.2f}"
        for r in low.itertuples()
    ]
    lines += [f"{name}: not measured: {why}" for name, why in (unmeasured or {}).items()]
    if not len(table) and not lines:
        lines = ["nothing to compare: no judge scores outputs on this dataset"]
    return dg.AssetCheckResult(
        check_name=AGREEMENT_FLOOR.name,
        passed=not lines,
        severity=dg.AssetCheckSeverity.WARN,
        description="; ".join(lines) or "every judge measured, agreement above every floor",
        metadata={
            "measured_groups": len(table),
            "below_floor": len(low),
            "unmeasured_judges": len(unmeasured or {}),
        },
    )


@dg.asset(
    partitions_def=pairwise_partitions,  # only datasets with a pairwise judge
    ins={
        "scores": of_dataset("scores"),
        "eval_datasets": dg.AssetIn(partition_mapping=same_dataset),
    },
    group_name="evaluation",  # it calls judges: never started by the analysis' automation
    kinds={"litellm", "parquet"},
    io_manager_key="parquet_io_manager",
)
def pairwise(
    context: dg.AssetExecutionContext,
    scores: dict[str, pd.DataFrame],
    eval_datasets: pd.DataFrame,
    lab: LabResource,
    llm: LLMResource,
    artifacts: ArtifactStore,
) -> dg.Output[pd.DataFrame]:
    """Pairwise judges: each candidate against its baseline, both orders, ties allowed."""
    the_lab = lab.load()
    dataset = context.partition_key
    tables = tables_by_candidate(scores, set(the_lab.all_candidates()))
    records = frame_records(eval_datasets)
    frames, stopped = [], []
    for experiment in the_lab.experiments_for(dataset):
        judges = judges_producing(the_lab, the_lab.experiment(experiment).judges, "pairwise")
        if not judges:
            continue
        outputs = {
            c.label: tables[c.key] for c in the_lab.candidates(experiment) if c.key in tables
        }
        if the_lab.baseline(experiment).label not in outputs:
            context.log.warning(f"{experiment}: no baseline outputs yet; skipped")
            continue
        with llm.paying(
            context,
            artifacts,
            the_lab,
            model=",".join(sorted({str(the_lab.judges[n].model) for n in judges})),
            candidate=",".join(outputs),
            dataset=dataset,
            experiments=experiment,
            experiment=experiment,
        ) as wallet:
            for name in judges:
                engine = wallet.engine(ProgressLogger(context.log, f"pairwise {name}"))
                frames.append(
                    pairwise_judgements(the_lab, name, experiment, outputs, records, engine)
                )
        if wallet.stopped_by:
            stopped.append(f"{experiment}: {wallet.stopped_by}")
            context.log.warning(f"partial: {experiment}: {wallet.stopped_by}")
    table = redact_frame(pd.concat(frames, ignore_index=True) if frames else pd.DataFrame())
    summary = pairwise_summary(table) if len(table) else pd.DataFrame()
    return dg.Output(
        table,
        metadata={
            "dagster/row_count": len(table),
            "summary": dg.MetadataValue.md(
                markdown_table(summary) if len(summary) else "no pairwise judges"
            ),
            "partial": bool(stopped),
            **({"stopped_by": "; ".join(stopped)} if stopped else {}),
        },
    )
