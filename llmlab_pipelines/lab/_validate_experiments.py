"""Check each experiment against the rest of the lab: names, metrics, grid, mode settings."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from ._candidates import match_baseline, too_many_candidates
from ._errors import IssueCollector, LabError, shown, shown_names, unknown
from ._lab import Lab
from ._metric_entries import resolve_metric_entry
from ._read import Source
from ._schema import ExperimentConfig, GenerationParams
from ._yaml import KeyPath, dotted, line_of

#: Adds a problem at a key of the experiment's file.
Add = Callable[[KeyPath, str], None]


def check_experiment(
    lab: Lab,
    name: str,
    source: Source,
    issues: IssueCollector,
    check_datasets: bool,
    declared: set[str],
) -> bool:
    """Whether experiment ``name`` is usable; each problem found is added to ``issues``.

    Args:
        lab: The lab being loaded (its experiments passed their schema).
        name: The experiment to check.
        source: Its display path and the line of each key.
        issues: Where every problem found is added.
        check_datasets: Also check the prompts' variables against the dataset's fields.
        declared: Every model name of models.yaml, valid or not.
    """
    config = lab.experiments[name]
    file, lines = source
    before = len(issues.issues)

    def add(key: KeyPath, message: str) -> None:
        issues.add(file, message, line=line_of(lines, key), key=dotted(key))

    _check_names(lab, config, declared, add)
    check_metrics(lab, name, config, add)
    if (too_many := too_many_candidates(config)) is not None:
        add(("params_grid",) if config.params_grid else ("prompts",), too_many)
        return False
    _check_grid(config, add)
    if len(issues.issues) > before:
        return False
    if config.baseline is not None:
        _check_baseline(lab, name, config.baseline, add)
    if config.gate is not None:
        _check_gate(lab, name, config, add)
    if config.mode == "adaptive":
        _check_adaptive(lab, name, config, add)
    if config.mode == "optimize" or config.optimize != type(config.optimize)():
        _check_optimize(lab, config, add)
    if check_datasets and config.dataset in lab.datasets:
        _check_variables(lab, config.dataset, config.prompts, issues)
    return len(issues.issues) == before


def check_metrics(lab: Lab, name: str, config: ExperimentConfig, add: Add) -> None:
    """The experiment's ``metrics``: each built in, the lab's own or a judge's column, and
    ``primary_metric`` one of them."""
    known_metrics = lab.experiment_metrics(name)
    for index, metric in enumerate(config.metrics):
        if metric in config.metric_options:
            if (problem := resolve_metric_entry(lab, name, metric)) is not None:
                add(("metrics", index), problem)
        elif metric not in known_metrics:
            hint = "" if config.judges else " (a judge's score needs the judge under `judges:`)"
            add(("metrics", index), unknown("metric", metric, known_metrics) + hint)
    if config.primary_metric and config.primary_metric not in config.metrics:
        add(
            ("primary_metric",),
            f"{shown(config.primary_metric)} is not one of metrics {shown_names(config.metrics)}",
        )


def check_raw_references(
    lab: Lab,
    raw: dict[str, Any],
    file: str,
    lines: dict[KeyPath, int],
    issues: IssueCollector,
    declared: set[str],
) -> None:
    """Name lookups in an experiment that failed its schema, so every problem is listed."""
    if isinstance(raw.get("dataset"), str) and raw["dataset"] not in lab.datasets:
        issues.add(
            file,
            unknown("dataset", raw["dataset"], lab.datasets),
            line=line_of(lines, ("dataset",)),
            key="dataset",
        )
    judge_columns = {c: None for j in lab.judges for c in lab.judge_columns(j).values()}
    for kind, known in (
        ("prompts", lab.prompts),
        ("models", declared),
        ("metrics", {**lab.metrics, **judge_columns}),
        ("judges", lab.judges),
    ):
        names = raw.get(kind)
        for index, item in enumerate(names if isinstance(names, list) else []):
            if isinstance(item, str) and item not in known:
                issues.add(
                    file,
                    unknown(kind.rstrip("s"), item, known),
                    line=line_of(lines, (kind, index)),
                    key=f"{kind}[{index}]",
                )
    dataset, prompts = raw.get("dataset"), raw.get("prompts")
    if isinstance(dataset, str) and dataset in lab.datasets and isinstance(prompts, list):
        _check_variables(
            lab,
            str(dataset),
            [p for p in prompts if isinstance(p, str) and p in lab.prompts],
            issues,
        )


def _check_names(lab: Lab, config: ExperimentConfig, declared: set[str], add: Add) -> None:
    """The dataset, prompts, models and judges the experiment names exist in the lab."""
    if config.dataset not in lab.datasets:
        add(("dataset",), unknown("dataset", config.dataset, lab.datasets))
    for kind, names, known in (
        ("prompts", config.prompts, lab.prompts),
        ("models", config.models, lab.models),
        ("judges", config.judges, lab.judges),
    ):
        for index, item in enumerate(names):
            if kind == "models" and item in declared and item not in known:
                add((kind, index), f"model {shown(item)} is declared but invalid (see models.yaml)")
            elif item not in known:
                add((kind, index), unknown(kind.rstrip("s"), item, known))


def _check_grid(config: ExperimentConfig, add: Add) -> None:
    """Every point of ``params_grid`` makes valid generation parameters."""
    names = list(config.params_grid)
    points = itertools.product(*config.params_grid.values())
    for index, point in enumerate(points):
        values = dict(zip(names, point, strict=True))
        try:
            GenerationParams(**values)
        except ValidationError as exc:
            add(("params_grid",), f"grid point {index} {shown(values)}: {exc.errors()[0]['msg']}")


def _check_baseline(lab: Lab, name: str, spec: str, add: Add) -> None:
    candidates = lab.candidates(name)
    found = match_baseline(spec, candidates)
    labels = [c.label for c in candidates]
    if not found:
        add(
            ("baseline",),
            f"baseline {shown(spec)} is none of the candidates ({shown_names(labels)})",
        )
    elif len(found) > 1:
        add(
            ("baseline",),
            f"baseline {shown(spec)} matches {len(found)} candidates "
            f"({shown_names(c.label for c in found)}); name one",
        )


def _check_adaptive(lab: Lab, name: str, config: ExperimentConfig, add: Add) -> None:
    n = len(lab.candidates(name))
    strategy = config.adaptive.strategy
    if n < 2:
        add(("mode",), f"mode: adaptive needs 2 or more candidates; this experiment has {n}")
    elif strategy == "sequential" and n != 2:
        add(
            ("adaptive", "strategy"),
            f"strategy 'sequential' compares exactly 2 candidates; this experiment has {n} "
            "(use successive_elimination or thompson)",
        )
    metric = lab.metrics.get(config.adaptive_metric)
    if metric is not None and metric.source is not None:
        add(
            ("adaptive", "metric"),
            f"adaptive mode decides on a score in [0, 1]; {metric.name!r} is not one "
            "(pick a quality metric or a judge)",
        )
    if config.gate is not None:
        add(("gate",), "a regression gate needs the full grid; it can't use mode: adaptive")


def _check_optimize(lab: Lab, config: ExperimentConfig, add: Add) -> None:
    settings = config.optimize
    if settings.optimizer is not None and settings.optimizer not in lab.models:
        add(("optimize", "optimizer"), unknown("model", settings.optimizer, lab.models))
    if settings.seed_prompt is not None and settings.seed_prompt not in config.prompts:
        add(
            ("optimize", "seed_prompt"),
            f"seed_prompt {shown(settings.seed_prompt)} is not one of prompts "
            f"{shown_names(config.prompts)}",
        )
    metric = lab.metrics.get(config.metric)
    if metric is not None and metric.source is not None:
        add(
            ("primary_metric",),
            f"optimization improves a score in [0, 1]; {metric.name!r} is not one",
        )


def _check_gate(lab: Lab, name: str, config: ExperimentConfig, add: Add) -> None:
    gate = config.gate
    assert gate is not None
    if gate.metric is not None and gate.metric not in config.metrics:
        add(
            ("gate", "metric"),
            f"{shown(gate.metric)} is not one of metrics {shown_names(config.metrics)}",
        )
    labels = [c.label for c in lab.candidates(name)]
    for index, label in enumerate(gate.candidates):
        if label not in labels and not match_baseline(label, lab.candidates(name)):
            add(("gate", "candidates", index), unknown("candidate", label, labels))


def _check_variables(lab: Lab, name: str, prompts: list[str], issues: IssueCollector) -> None:
    """Each prompt's variables are fields of dataset ``name`` (once per message)."""
    dataset = lab.datasets[name]
    try:
        fields = set(dataset.fields)
    except LabError:
        return  # the dataset's own problems are reported once, with its lines
    for prompt_name in prompts:
        prompt = lab.prompts[prompt_name]
        for variable in sorted(prompt.variables - fields):
            message = (
                f"uses variable {shown(variable)}, which dataset {name!r} ({dataset.display}) "
                f"does not have (fields: {shown_names(sorted(fields))})"
            )
            if message not in {i.message for i in issues.issues}:
                issues.add(prompt.display, message)
