"""generations: every item of a dataset sent to one candidate (prompt version x model x params)."""

# No `from __future__ import annotations`: Dagster reads the context annotation at runtime.

from collections.abc import Iterator

import dagster as dg
import pandas as pd

from .. import asset_metadata as meta
from ..engine import Budget, build_requests, result_columns
from ..lab import LabError
from ..lab._quality import frame_records
from ..locks import partition_lock
from ..partitions import generation_partitions, of_dataset, split_key
from ..report import markdown_table
from ..resources import ArtifactStore, LabResource, LLMResource
from ..secrets import redact, redact_frame
from ._metadata import redact_metadata, seconds, shown, usd
from ._progress import ProgressLogger


@dg.asset(
    partitions_def=generation_partitions,
    ins={"eval_datasets": of_dataset("eval_datasets", one=True)},
    group_name="evaluation",
    kinds={"litellm", "parquet"},
    io_manager_key="parquet_io_manager",
    check_specs=[
        dg.AssetCheckSpec(
            "generation_error_rate",
            asset="generations",
            blocking=True,
            description="Fails (and stops scoring) when the error rate exceeds the threshold; "
            "the rows, and every finished call in the cache, stay saved.",
        )
    ],
)
def generations(
    context: dg.AssetExecutionContext,
    eval_datasets: pd.DataFrame,
    lab: LabResource,
    llm: LLMResource,
    artifacts: ArtifactStore,
) -> Iterator[object]:
    """Model outputs with tokens, latency, cost and any error, one row per item and repeat."""
    candidate, dataset = split_key(context.partition_key)
    the_lab = lab.load()
    try:
        plan = the_lab.plan(candidate, dataset)
        requests = build_requests(the_lab, plan, frame_records(eval_datasets), limit=lab.limit)
    except LabError as exc:
        raise dg.Failure(description=str(exc)) from None
    context.log.info(f"{plan.candidate.label} on {plan.dataset}: {len(requests)} calls")
    with llm.paying(
        context,
        artifacts,
        the_lab,
        model=plan.candidate.model,
        candidate=plan.candidate.label,
        dataset=plan.dataset,
        experiments=",".join(the_lab.experiments_for(plan.dataset)),
        candidate_key=candidate,
    ) as wallet:
        engine = wallet.engine(
            ProgressLogger(context.log, plan.candidate.label, bar=llm.progress_bar)
        )
        lock = f"generations|{context.partition_key}"
        with partition_lock(lock, on_wait=context.log.info):
            results = engine.run(requests)
    prompts = {(r.item_id, r.repeat): r.prompt for r in requests}
    columns = result_columns(results) | {
        "prompt": [prompts[(r.item_id, r.repeat)] for r in results]
    }
    del requests, results, prompts  # the frame alone is kept while it is written
    frame = pd.DataFrame(columns)
    del columns
    frame = redact_frame(frame)  # rows read from a cache written before a key was known, too
    error_rate = float(frame["error"].notna().mean()) if len(frame) else 0.0
    metadata = _metadata(frame, plan.candidate.label, error_rate)
    metadata |= _stop_metadata(frame, wallet.budget, context.log)
    for warning in _provider_warnings(frame, llm):
        context.log.warning(warning)
    metadata["breakers"] = dg.MetadataValue.json(engine.breakers())
    yield dg.Output(frame, metadata=redact_metadata(metadata))
    yield dg.AssetCheckResult(
        check_name="generation_error_rate",
        passed=error_rate <= llm.max_error_rate,
        description=redact(_error_summary(frame, error_rate, llm.max_error_rate)),
        metadata={
            "error_rate": shown(error_rate),
            "threshold": llm.max_error_rate,
            "errors_by_type": dg.MetadataValue.json(
                frame["error_type"].value_counts().to_dict() if len(frame) else {}
            ),
        },
    )


def _stop_metadata(
    frame: pd.DataFrame, budget: Budget | None, log: dg.DagsterLogManager
) -> dict[str, object]:
    """Whether calls were stopped (by the budget) and the budget the partition ran under."""
    stopped = frame[frame["error_type"] == "budget"] if len(frame) else frame
    out: dict[str, object] = {"partial": bool(len(stopped))}
    if len(stopped):
        out["stopped_by"] = str(stopped["error"].iloc[0])
        log.warning(f"partial: {len(stopped)} calls not made: {stopped['error'].iloc[0]}")
    if budget is not None:
        out["budget_usd"] = budget.limit_usd
        out["budget"] = budget.label
    return out


def _error_summary(frame: pd.DataFrame, rate: float, threshold: float) -> str:
    errors = frame[frame["error"].notna()]
    if errors.empty:
        return "no errors"
    kinds = ", ".join(f"{k}: {n}" for k, n in errors["error_type"].value_counts().items())
    return (
        f"error rate {rate:.1%} (threshold {threshold:.0%}); {kinds}; "
        f"e.g. item {errors['item_id'].iloc[0]!r}: {str(errors['error'].iloc[0])[:300]}; "
        f"{len(errors)} of {len(frame)} items unanswered: re-run to fill them"
    )


#: Longest text of one cell in the metadata preview (the event log keeps every materialization).
PREVIEW_CELL_CHARS = 200


def _clip(value: object) -> object:
    if isinstance(value, str) and len(value) > PREVIEW_CELL_CHARS:
        return value[:PREVIEW_CELL_CHARS] + f"… ({len(value):,} chars)"
    return value


def _provider_warnings(frame: pd.DataFrame, llm: LLMResource) -> list[str]:
    """Replies that were cut, Retry-After waits that were capped: said once per partition."""
    out = []
    cut = int(frame["output_truncated"].sum()) if len(frame) else 0
    if cut:
        out.append(
            f"{cut} replies were longer than max_output_chars ({llm.max_output_chars:,}) and "
            "were stored cut (column output_truncated)"
        )
    capped = frame.loc[frame["retry_after_capped_s"] > 0] if len(frame) else frame
    if len(capped):
        cap = llm.backoff_cap if llm.retry_after_cap is None else llm.retry_after_cap
        out.append(
            f"{len(capped)} calls were asked to wait up to "
            f"{capped['retry_after_capped_s'].max():.0f}s (Retry-After) and waited at most "
            f"{cap:g}s, the llm resource's retry_after_cap (column retry_after_capped_s)"
        )
    return out


def _metadata(frame: pd.DataFrame, label: str, error_rate: float) -> dict[str, object]:
    ok = frame[frame["error"].isna()]
    preview = frame[["item_id", "repeat", "output", "error_type", "latency_s"]].head(8)
    preview = preview.assign(output=preview["output"].map(_clip))
    latency = float(ok["latency_s"].sum()) if len(ok) else 0.0
    return {
        meta.ROWS: len(frame),
        meta.CANDIDATE: label,
        "error_rate": shown(error_rate),
        meta.UNANSWERED: int(frame["error"].notna().sum()),
        "truncated_outputs": int(frame["output_truncated"].sum()),
        meta.PROMPT_TOKENS: int(frame["prompt_tokens"].sum()),
        meta.COMPLETION_TOKENS: int(frame["completion_tokens"].sum()),
        meta.COST_USD: usd(frame["cost_usd"].sum()),
        meta.COST_USD_SPENT_NOW: usd(frame.loc[~frame["cached"], "cost_usd"].sum()),
        meta.CACHED_ROWS: int(frame["cached"].sum()),
        meta.PROVIDER_CALLS: int(frame["attempts"].sum()),
        # generation speed of the answered calls (cached rows keep their first call's latency)
        meta.TOKENS_PER_S: shown(ok["completion_tokens"].sum() / latency) if latency else 0.0,
        "latency_p50_s": seconds(ok["latency_s"].median()) if len(ok) else 0.0,
        "latency_p95_s": seconds(ok["latency_s"].quantile(0.95)) if len(ok) else 0.0,
        "preview": dg.MetadataValue.md(markdown_table(preview)),
    }
