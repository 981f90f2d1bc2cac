"""Materialize a lab through Dagster, in this process: what ``llmlab run`` does."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import pandas as pd

from .assets import ALL_ASSETS
from .definitions import build_resources
from .lab import Lab
from .partition_sync import missing_partitions
from .partitions import candidate_partitions, dataset_partitions, generation_key
from .resources import ArtifactStore, LabResource, LLMResource
from .secrets import redact
from .settings import get_settings
from .tags import run_tags

PROJECT_DAGSTER_YAML = Path(__file__).resolve().parent.parent / "dagster.yaml"


class RunFailed(RuntimeError):
    """A step of the pipeline failed; the message says which and why."""

    def __init__(self, message: str, summary: RunSummary | None = None) -> None:
        super().__init__(message)
        self.summary = summary


@dataclass
class RunSummary:
    """What a run produced."""

    leaderboards: dict[str, pd.DataFrame] = field(default_factory=dict)
    reports: dict[str, str] = field(default_factory=dict)
    dagster_runs: list[str] = field(default_factory=list)
    checks: list[dg.AssetCheckEvaluation] = field(default_factory=list)
    adaptive: dict[str, dict[str, object]] = field(default_factory=dict)
    optimizations: dict[str, dict[str, object]] = field(default_factory=dict)
    unanswered: dict[str, int] = field(default_factory=dict)  # "candidate on dataset" -> items

    def check(self, name: str) -> list[dg.AssetCheckEvaluation]:
        """Every evaluation of one asset check, in run order."""
        return [c for c in self.checks if c.check_name == name]

    def unanswered_text(self) -> str:
        """Why a run that finished is still incomplete (empty when every item has its answer)."""
        total = sum(self.unanswered.values())
        if not total:
            return ""
        where = ", ".join(f"{label}: {n}" for label, n in self.unanswered.items() if n)
        return (
            f"{total} items unanswered ({where}); their rows say why. Re-run to fill them: "
            "answered items come from the cache, only the unanswered ones are called again."
        )


def dagster_instance() -> dg.DagsterInstance:
    """The instance under ``DAGSTER_HOME`` (default: the state folder), created on first use."""
    home = get_settings().dagster_home
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists() and PROJECT_DAGSTER_YAML.exists():
        shutil.copyfile(PROJECT_DAGSTER_YAML, config)
    os.environ["DAGSTER_HOME"] = str(home)
    return dg.DagsterInstance.get()


def register_partitions(instance: dg.DagsterInstance, lab: Lab) -> None:
    """Add the lab's dataset and candidate partitions the instance does not know yet.

    Two runs starting at once would both add the same keys (a unique-key violation): on this
    machine they take turns; across machines, the loser re-reads and adds only what is missing.
    """
    from .locks import partition_lock

    with partition_lock(f"dagster-partitions|{get_settings().dagster_home}"):
        for attempt in range(3):
            delta = missing_partitions(
                lab,
                set(instance.get_dynamic_partitions(dataset_partitions.name)),
                set(instance.get_dynamic_partitions(candidate_partitions.name)),
            )
            try:
                if delta.datasets:
                    instance.add_dynamic_partitions(dataset_partitions.name, delta.datasets)
                if delta.candidates:
                    instance.add_dynamic_partitions(candidate_partitions.name, delta.candidates)
                return
            except Exception:  # another process added some of them first
                if attempt == 2:
                    raise


def per_experiment(
    result: dg.ExecuteInProcessResult, node: str, names: list[str]
) -> dict[str, dict[str, object]]:
    """``experiment -> {key: value}`` from a materialization's ``<experiment>/<key>`` metadata."""
    out: dict[str, dict[str, object]] = {}
    for mat in result.asset_materializations_for_node(node):
        for key, value in mat.metadata.items():
            name, _, field = key.partition("/")
            if name in names and field:
                out.setdefault(name, {})[field] = getattr(value, "value", value)
    return out


def _failure_text(error: object) -> str:
    """A step failure's message and, when it wraps another error, what actually went wrong."""
    text = str(getattr(error, "message", error)).strip()
    cause = getattr(error, "cause", None)
    while cause is not None and getattr(cause, "cause", None) is not None:
        cause = cause.cause
    if cause is not None:
        text += "\ncaused by: " + str(getattr(cause, "message", cause)).strip()
    return redact(text)


def with_budget(llm: LLMResource, budget_usd: float) -> LLMResource:
    """The same LLM resource (or subclass) with a run budget."""
    fields = {name: getattr(llm, name) for name in type(llm).model_fields}
    return type(llm)(**{**fields, "budget_usd": budget_usd})


def run_lab(
    lab: Lab,
    *,
    experiments: Iterable[str] | None = None,
    limit: int | None = None,
    instance: dg.DagsterInstance | None = None,
    resources: dict[str, object] | None = None,
    echo: Callable[[str], None] = print,
    log_level: str = "INFO",
    cache: str = "use",
    progress_bar: bool = False,
    optimize: Iterable[str] = (),
) -> RunSummary:
    """Datasets, then each candidate x dataset, then comparisons and leaderboards.

    Args:
        lab: The validated lab.
        experiments: Only these experiments (default: all).
        limit: At most this many items per dataset.
        instance: The Dagster instance (default: :func:`dagster_instance`).
        resources: Overrides of the default resources.
        echo: Where progress lines go.
        log_level: Dagster's console log level (DEBUG shows every event).
        cache: The response cache mode (use, refresh, off).
        progress_bar: Draw a terminal progress bar while generating.
        optimize: Also optimize these experiments' prompts (``mode: optimize`` ones always are).
    """
    names = list(lab.experiments) if experiments is None else list(experiments)
    for name in names:
        lab.experiment(name)  # a typo fails here, with a suggestion
    instance = instance or dagster_instance()
    register_partitions(instance, lab)
    res = {
        **build_resources(),
        "lab": LabResource(path=str(lab.root), limit=limit),
        "llm": LLMResource(cache=cache, progress_bar=progress_bar),
        **(resources or {}),
    }
    summary = RunSummary()

    def step(
        selection: list[str],
        key: str | None,
        what: str,
        tags: dict[str, str] | None = None,
        ops: dict[str, object] | None = None,
    ) -> dg.ExecuteInProcessResult:
        echo(f"→ {what}")
        result = dg.materialize(
            ALL_ASSETS,
            selection=selection,
            partition_key=key,
            instance=instance,
            resources=res,
            raise_on_error=False,
            run_config={
                "loggers": {"console": {"config": {"log_level": log_level}}},
                **({"ops": ops} if ops else {}),
            },
            tags={"llmlab/source": "cli", **(tags or {})},
        )
        summary.dagster_runs.append(result.run_id)
        summary.checks.extend(result.get_asset_check_evaluations())
        if not result.success:
            errors = [
                _failure_text(e.step_failure_data.error)
                for e in result.get_step_failure_events()
                if e.step_failure_data and e.step_failure_data.error
            ]
            errors += [
                f"check {c.check_name} failed:\n{c.description}"
                for c in result.get_asset_check_evaluations()
                if not c.passed and c.description
            ]
            raise RunFailed(
                f"{what} failed (Dagster run {result.run_id}):\n" + "\n".join(errors), summary
            )
        return result

    plans = lab.plans(names)
    datasets = sorted({p.dataset for p in plans})
    adaptive = sorted(
        {lab.experiment(n).dataset for n in names if lab.experiment(n).mode == "adaptive"}
    )
    to_optimize = list(
        dict.fromkeys([*optimize, *(n for n in names if lab.experiment(n).mode == "optimize")])
    )
    for name in to_optimize:
        lab.experiment(name)
    optimized = sorted({lab.experiment(n).dataset for n in to_optimize})
    for dataset in sorted({*datasets, *adaptive, *optimized}):
        step(["eval_datasets"], dataset, f"dataset {dataset}")
    base_llm = res["llm"]
    # an experiment's budget_usd holds for this whole run, across its partitions
    left = {n: lab.experiment(n).budget_usd for n in names if lab.experiment(n).budget_usd}
    for plan in plans:
        users = [
            n
            for n in left
            if lab.experiment(n).dataset == plan.dataset
            and any(c.key == plan.candidate.key for c in lab.candidates(n))
        ]
        res["llm"] = (
            with_budget(base_llm, max(0.0, min(float(left[n]) for n in users)))  # type: ignore[arg-type]
            if users
            else base_llm
        )
        result = step(
            ["generations", "judge_scores", "scores"],
            generation_key(plan.candidate.key, plan.dataset),
            f"{plan.candidate.label} on {plan.dataset}",
            run_tags(lab, plan.candidate.model),
        )
        generated = result.asset_materializations_for_node("generations")
        spent = sum(
            float(m.metadata[k].value)  # type: ignore[union-attr]
            for m in generated
            for k in ("cost_usd_spent_now",)
            if k in m.metadata
        )
        summary.unanswered[f"{plan.candidate.label} on {plan.dataset}"] = sum(
            int(m.metadata["unanswered"].value)  # type: ignore[union-attr, arg-type]
            for m in generated
            if "unanswered" in m.metadata
        )
        for n in users:
            left[n] = float(left[n]) - spent  # type: ignore[arg-type]
    res["llm"] = base_llm
    store = res["artifacts"]
    for dataset in datasets:
        result = step(
            ["comparisons", "leaderboard", "promoted", "judge_agreement", "pairwise"],
            dataset,
            f"leaderboard for {dataset}",
        )
        board = result.output_for_node("leaderboard")
        for name in board["experiment"].unique() if len(board) else []:
            if name in names:
                summary.leaderboards[name] = board[board["experiment"] == name]
                if isinstance(store, ArtifactStore):
                    summary.reports[name] = str(store.path("reports", name, "report.md"))
    for dataset in adaptive:
        result = step(["adaptive_runs"], dataset, f"adaptive experiments on {dataset}")
        names_here = lab.experiments_for(dataset, mode="adaptive")
        summary.adaptive.update(per_experiment(result, "adaptive_runs", names_here))
        if isinstance(store, ArtifactStore):
            for name in names_here:
                summary.reports[name] = str(store.path("reports", dataset, f"adaptive_{name}.md"))
    for dataset in optimized:  # one round per Dagster run, as the sensor chains them in the UI
        pending = [n for n in to_optimize if lab.experiment(n).dataset == dataset]
        most = max(lab.experiment(n).optimize.rounds for n in pending) + 1
        for _ in range(most):
            result = step(
                ["prompt_optimization"],
                dataset,
                f"prompt optimization on {dataset}",
                ops={"prompt_optimization": {"config": {"experiments": pending}}},
            )
            summary.optimizations.update(per_experiment(result, "prompt_optimization", pending))
            if isinstance(store, ArtifactStore):
                for name in pending:
                    summary.reports[name] = str(
                        store.path("reports", dataset, f"optimize_{name}.md")
                    )
            pending = [n for n in pending if not summary.optimizations.get(n, {}).get("finished")]
            if not pending:
                break
    step(["costs"], None, "costs")
    return summary
