"""Run a lab's jobs in this process, one partition at a time: what ``llmlab run`` does.

The jobs are the ones the UI, the sensors and the schedule launch (``jobs/``), resolved from
the same definitions; every run is tagged with ``llmlab/source=cli``, its experiments and one
invocation id shared by all runs of one call, under which an experiment's ``budget_usd`` holds.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import dagster as dg
import pandas as pd

from . import tags
from .asset_metadata import FINISHED, GenerationSummary, per_experiment
from .definitions import build_definitions
from .jobs import (
    adaptive_job,
    analysis_job,
    costs_job,
    eval_datasets_job,
    generations_job,
    optimize_job,
    pairwise_job,
)
from .lab import Lab
from .locks import partition_lock
from .partitions import generation_key, pairwise_datasets, register_partitions
from .resources import ArtifactStore, LabResource, LLMResource
from .secrets import redact
from .settings import get_settings

__all__ = ["RunFailed", "RunSummary", "dagster_instance", "register_partitions", "run_lab"]

#: The response cache modes (see :class:`LLMResource`).
CacheMode = Literal["use", "refresh", "off"]

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
    #: "candidate on dataset" -> what its generations did (calls, tokens/s, cost)
    generations: dict[str, GenerationSummary] = field(default_factory=dict)

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
    """The instance in ``DAGSTER_HOME`` (default: the state folder), created on first use with
    the project's ``dagster.yaml``. The environment is left as it is."""
    home = get_settings().dagster_home
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists() and PROJECT_DAGSTER_YAML.exists():
        shutil.copyfile(PROJECT_DAGSTER_YAML, config)
    # two processes creating the same SQLite storage at once collide on its schema version
    with partition_lock(f"dagster-instance|{home}"):
        return dg.DagsterInstance.from_config(str(home))


def _failure_text(error: object) -> str:
    """A step failure's message and, when it wraps another error, what actually went wrong."""
    text = str(getattr(error, "message", error)).strip()
    cause = getattr(error, "cause", None)
    while cause is not None and getattr(cause, "cause", None) is not None:
        cause = cause.cause
    if cause is not None:
        text += "\ncaused by: " + str(getattr(cause, "message", cause)).strip()
    return redact(text)


def _failure(result: dg.ExecuteInProcessResult) -> str:
    """Every failed step's error and every failed check of a run, one per line."""
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
    return "\n".join(errors)


@dataclass
class _Invocation:
    """One ``llmlab run``: the jobs it runs, the tags they share, what they produced."""

    defs: dg.Definitions
    instance: dg.DagsterInstance
    echo: Callable[[str], None]
    log_level: str
    store: ArtifactStore | None = None
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    summary: RunSummary = field(default_factory=RunSummary)

    def report_at(self, name: str, *parts: str) -> None:
        """Remember where experiment ``name``'s report is, under ``reports/`` in the store."""
        if self.store is not None:
            self.summary.reports[name] = str(self.store.path("reports", *parts))

    def step(
        self,
        job: str,
        key: str | None,
        what: str,
        experiments: Iterable[str],
        extra_tags: dict[str, str] | None = None,
        ops: dict[str, object] | None = None,
    ) -> dg.ExecuteInProcessResult:
        """Run ``job`` on partition ``key``; raise :class:`RunFailed` when it fails."""
        self.echo(f"→ {what}")
        names = ",".join(dict.fromkeys(experiments))
        result = self.defs.resolve_job_def(job).execute_in_process(
            partition_key=key,
            instance=self.instance,
            raise_on_error=False,
            run_config={
                "loggers": {"console": {"config": {"log_level": self.log_level}}},
                **({"ops": ops} if ops else {}),
            },
            tags={
                tags.SOURCE: "cli",
                tags.INVOCATION: self.id,
                **({tags.EXPERIMENT: names} if names else {}),
                **(extra_tags or {}),
            },
        )
        self.summary.dagster_runs.append(result.run_id)
        self.summary.checks.extend(result.get_asset_check_evaluations())
        if not result.success:
            raise RunFailed(
                f"{what} failed (Dagster run {result.run_id}):\n{_failure(result)}", self.summary
            )
        return result


def run_lab(
    lab: Lab,
    *,
    experiments: Iterable[str] | None = None,
    limit: int | None = None,
    instance: dg.DagsterInstance | None = None,
    resources: dict[str, object] | None = None,
    echo: Callable[[str], None] = print,
    log_level: str = "INFO",
    cache: CacheMode = "use",
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
    to_optimize = list(
        dict.fromkeys([*optimize, *(n for n in names if lab.experiment(n).mode == "optimize")])
    )
    for name in [*names, *to_optimize]:
        lab.experiment(name)  # a typo fails here, with a suggestion
    instance = instance or dagster_instance()
    register_partitions(instance, lab, optimize=[lab.experiment(n).dataset for n in to_optimize])
    defs = build_definitions(
        {
            "lab": LabResource(path=str(lab.root), limit=limit),
            "llm": LLMResource(cache=cache, progress_bar=progress_bar),
            **(resources or {}),
        },
        automation=False,
    )
    store = (defs.resources or {}).get("artifacts")
    run = _Invocation(
        defs, instance, echo, log_level, store if isinstance(store, ArtifactStore) else None
    )
    grid = [n for n in names if lab.experiment(n).mode == "grid"]
    adaptive = [n for n in names if lab.experiment(n).mode == "adaptive"]
    datasets = sorted({lab.experiment(n).dataset for n in [*grid, *adaptive, *to_optimize]})
    for dataset in datasets:
        users = [n for n in [*names, *to_optimize] if lab.experiment(n).dataset == dataset]
        run.step(eval_datasets_job.name, dataset, f"dataset {dataset}", users)
    _generate(run, lab, names)
    _analyse(run, lab, names)
    _pairwise(run, lab, names)
    _adapt(run, lab, adaptive)
    _optimize(run, lab, to_optimize)
    run.step(costs_job.name, None, "costs", [*names, *to_optimize])
    return run.summary


def _generate(run: _Invocation, lab: Lab, names: list[str]) -> None:
    """Generate, judge and score every candidate x dataset of the grid experiments."""
    for plan in lab.plans(names):
        users = [
            n
            for n in names
            if lab.experiment(n).dataset == plan.dataset
            and any(c.key == plan.candidate.key for c in lab.candidates(n))
        ]
        label = f"{plan.candidate.label} on {plan.dataset}"
        result = run.step(
            generations_job.name,
            generation_key(plan.candidate.key, plan.dataset),
            label,
            users,
            tags.run_tags(lab, plan.candidate.model),
        )
        for mat in result.asset_materializations_for_node("generations"):
            generated = GenerationSummary.from_metadata(mat.metadata)
            run.summary.generations[label] = generated
            run.summary.unanswered[label] = generated.unanswered


def _analyse(run: _Invocation, lab: Lab, names: list[str]) -> None:
    """Comparisons and leaderboards, one analysis run per dataset of the grid experiments."""
    for dataset in sorted({p.dataset for p in lab.plans(names)}):
        here = [n for n in names if lab.experiment(n).dataset == dataset]
        result = run.step(analysis_job.name, dataset, f"leaderboard for {dataset}", here)
        board = result.output_for_node("leaderboard")
        for name in board["experiment"].unique() if len(board) else []:
            if name in names:
                run.summary.leaderboards[name] = board[board["experiment"] == name]
                run.report_at(name, name, "report.md")


def _pairwise(run: _Invocation, lab: Lab, names: list[str]) -> None:
    """The pairwise judges, one run per dataset whose grid experiments name one."""
    for dataset in pairwise_datasets(lab):
        here = [n for n in lab.experiments_for(dataset) if n in names]
        if here:
            run.step(pairwise_job.name, dataset, f"pairwise judges on {dataset}", here)


def _adapt(run: _Invocation, lab: Lab, adaptive: list[str]) -> None:
    """The adaptive experiments, one run per dataset (each runs every one on its dataset)."""
    for dataset in sorted({lab.experiment(n).dataset for n in adaptive}):
        here = lab.experiments_for(dataset, mode="adaptive")
        result = run.step(adaptive_job.name, dataset, f"adaptive experiments on {dataset}", here)
        for mat in result.asset_materializations_for_node("adaptive_runs"):
            run.summary.adaptive.update(per_experiment(mat.metadata, here))
        for name in here:
            run.report_at(name, dataset, f"adaptive_{name}.md")


def _optimize(run: _Invocation, lab: Lab, names: list[str]) -> None:
    """One optimization round per run, as the sensor chains them in the UI, until done."""
    for dataset in sorted({lab.experiment(n).dataset for n in names}):
        pending = [n for n in names if lab.experiment(n).dataset == dataset]
        for _ in range(max(lab.experiment(n).optimize.rounds for n in pending) + 1):
            result = run.step(
                optimize_job.name,
                dataset,
                f"prompt optimization on {dataset}",
                pending,
                ops={"prompt_optimization": {"config": {"experiments": pending}}},
            )
            for mat in result.asset_materializations_for_node("prompt_optimization"):
                run.summary.optimizations.update(per_experiment(mat.metadata, pending))
            for name in pending:
                run.report_at(name, dataset, f"optimize_{name}.md")
            pending = [n for n in pending if not run.summary.optimizations.get(n, {}).get(FINISHED)]
            if not pending:
                break
