"""Load a lab folder into one validated object, reporting every problem at once."""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from ..metrics import METRICS, Metric, load_user_metrics
from ..secrets import redact
from ..vcs import head_sha
from ._candidates import (
    Candidate,
    expand_candidates,
    key_collisions,
    match_baseline,
    too_many_candidates,
)
from ._datasets import DATASET_SUFFIXES, Dataset
from ._errors import IssueCollector, LabError, shorten, shown, shown_names
from ._judges import JudgeConfig
from ._metric_entries import resolve_metric_entry
from ._schema import BudgetsConfig, ExperimentConfig, GenerationParams, ModelConfig, check_name
from ._templates import Prompt, inside, load_prompt, make_environment
from ._yaml import KeyPath, dotted, line_of, load_yaml


@dataclass(frozen=True)
class PartitionPlan:
    """What one generations partition (candidate x dataset) must produce."""

    candidate: Candidate
    dataset: str
    repeats: int
    limit: int | None


@dataclass
class Lab:
    """A validated lab: models, prompts, datasets and experiments."""

    root: Path
    models: dict[str, ModelConfig]
    prompts: dict[str, Prompt]
    datasets: dict[str, Dataset]
    experiments: dict[str, ExperimentConfig]
    judges: dict[str, JudgeConfig] = field(default_factory=dict)
    judge_templates: dict[str, Prompt] = field(default_factory=dict)
    user_metrics: dict[str, Metric] = field(default_factory=dict)
    budgets: BudgetsConfig = field(default_factory=BudgetsConfig)
    configured_metrics: dict[str, Metric] = field(default_factory=dict)
    _candidates: dict[str, list[Candidate]] = field(default_factory=dict, repr=False)

    @property
    def metrics(self) -> dict[str, Metric]:
        """Built-in metrics, the lab's own (``metrics/*.py``) and entries with options."""
        return {**METRICS, **self.user_metrics, **self.configured_metrics}

    def judge_columns(self, name: str) -> dict[str, str]:
        """``dimension -> metric column`` a judge (or panel) adds to the scores."""
        judge = self.judges[name]
        if judge.kind == "panel":
            first = self.judges.get(judge.members[0])
            dims = first.dimensions if first else []
            return {d: name if len(dims) == 1 else f"{name}.{d}" for d in dims}
        return judge.columns(name)

    def experiment_metrics(self, experiment: str) -> dict[str, bool]:
        """Every metric name an experiment may rank by, with whether it is binary (0/1)."""
        config = self.experiment(experiment)
        out = {name: m.binary for name, m in self.metrics.items()}
        for judge in config.judges:
            if judge in self.judges:
                binary = self._judge_binary(judge)
                out.update(dict.fromkeys(self.judge_columns(judge).values(), binary))
        return out

    def _judge_binary(self, name: str) -> bool:
        judge = self.judges[name]
        if judge.kind == "panel":
            return judge.consensus == "majority" and all(
                self.judges[m].binary for m in judge.members if m in self.judges
            )
        return judge.binary and judge.repeats == 1

    def judge_names_for(self, candidate_key: str, dataset: str) -> list[str]:
        """Rubric judges and panels whose scores this candidate gets on this dataset."""
        names: dict[str, None] = {}
        for experiment in self.experiments_for(dataset):
            if any(c.key == candidate_key for c in self.candidates(experiment)):
                for name in self.experiments[experiment].judges:
                    if self.judges[name].kind != "pairwise":
                        names[name] = None
        return list(names)

    def rubric_judges_for(self, candidate_key: str, dataset: str) -> list[str]:
        """Rubric judges (panel members included) that score this candidate on this dataset."""
        names: dict[str, None] = {}
        for experiment in self.experiments_for(dataset):
            if not any(c.key == candidate_key for c in self.candidates(experiment)):
                continue
            for name in self.experiments[experiment].judges:
                judge = self.judges[name]
                if judge.kind == "rubric":
                    names[name] = None
                elif judge.kind == "panel":
                    names.update(dict.fromkeys(judge.members))
        return list(names)

    def candidates(self, experiment: str) -> list[Candidate]:
        """The candidates of one experiment."""
        if experiment not in self._candidates:
            config = self.experiment(experiment)
            self._candidates[experiment] = expand_candidates(config, self.prompts, self.models)
        return self._candidates[experiment]

    def experiment(self, name: str) -> ExperimentConfig:
        """One experiment by name, with a helpful error for a typo."""
        if name not in self.experiments:
            raise LabError.single(
                str(self.root / "experiments"), unknown("experiment", name, self.experiments)
            )
        return self.experiments[name]

    def baseline(self, experiment: str) -> Candidate:
        """The experiment's baseline candidate (default: its first candidate)."""
        config = self.experiment(experiment)
        candidates = self.candidates(experiment)
        if config.baseline is None:
            return candidates[0]
        return match_baseline(config.baseline, candidates)[0]

    def all_candidates(self) -> dict[str, Candidate]:
        """Every candidate of every experiment, by partition key."""
        return {c.key: c for name in self.experiments for c in self.candidates(name)}

    def experiments_for(self, dataset: str, *, mode: str = "grid") -> list[str]:
        """Names of the experiments that evaluate ``dataset`` (grid ones unless ``mode``)."""
        return [
            name
            for name, e in self.experiments.items()
            if e.dataset == dataset and (mode == "any" or e.mode == mode)
        ]

    def metrics_for(self, candidate_key: str, dataset: str) -> list[str]:
        """Every metric an experiment asks for on this candidate and dataset, in order."""
        names: dict[str, None] = {}
        for name in self.experiments_for(dataset):
            if any(c.key == candidate_key for c in self.candidates(name)):
                names.update(dict.fromkeys(self.experiments[name].metrics))
        return list(names)

    def run_budget(self, candidate_key: str, dataset: str) -> tuple[float, str] | None:
        """The tightest ``budget_usd`` of the experiments using this partition, with its name."""
        found = [
            (self.experiments[e].budget_usd, e)
            for e in self.experiments_for(dataset)
            if self.experiments[e].budget_usd is not None
            and any(c.key == candidate_key for c in self.candidates(e))
        ]
        if not found:
            return None
        limit, name = min(found)  # type: ignore[type-var]
        return float(limit), name  # type: ignore[arg-type]

    def plans(self, experiments: Iterable[str] | None = None) -> list[PartitionPlan]:
        """The generations partitions the experiments need, one per candidate x dataset."""
        plans: dict[tuple[str, str], PartitionPlan] = {}
        for name in self.experiments if experiments is None else experiments:
            config = self.experiment(name)
            if config.mode != "grid":
                continue  # adaptive and optimize experiments make their calls in rounds
            for cand in self.candidates(name):
                key = (cand.key, config.dataset)
                old = plans.get(key)
                repeats = max(config.repeats, old.repeats if old else 0)
                limit = _max_limit(config.limit, old.limit) if old else config.limit
                plans[key] = PartitionPlan(cand, config.dataset, repeats, limit)
        return list(plans.values())

    def plan(self, candidate_key: str, dataset: str) -> PartitionPlan:
        """The plan of one generations partition, or a LabError naming what is unknown."""
        for plan in self.plans():
            if plan.candidate.key == candidate_key and plan.dataset == dataset:
                return plan
        raise LabError.single(
            str(self.root),
            f"no experiment evaluates candidate {shown(candidate_key)} on dataset {shown(dataset)} "
            "(it may belong to an older version of a prompt)",
        )

    def git_sha(self) -> str | None:
        """The commit the lab is at, when it lives in a git repository."""
        return head_sha(self.root)


def _max_limit(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else max(a, b)


def unknown(kind: str, name: str, known: Iterable[str]) -> str:
    """``unknown model 'gtp-4o' (did you mean 'gpt-4o'? known: gpt-4o, local)``."""
    names = sorted(known)
    close = difflib.get_close_matches(name, names, n=1)
    hint = f"did you mean {shown(close[0])}? " if close else ""
    return f"unknown {kind} {shown(name)} ({hint}known: {shown_names(names) or 'none'})"


def load_lab(root: str | Path, *, check_datasets: bool = True) -> Lab:
    """Load and validate a lab folder.

    Args:
        root: The lab folder (holding models.yaml, prompts/, datasets/, experiments/).
        check_datasets: Also read every dataset an experiment uses and check the templates'
            variables against its fields.

    Raises:
        LabError: listing every problem, each with its file and line or key.
    """
    root = Path(root)
    issues = IssueCollector()
    if not root.is_dir():
        raise LabError.single(str(root), "lab folder not found (set LLMLAB_LAB or pass --lab)")
    disp = _Display(root)
    declared: set[str] = set()  # model names, valid or not: a broken model is not "unknown"
    models = _load_models(root / "models.yaml", disp, issues, declared)
    prompts = _load_prompts(root / "prompts", disp, issues)
    datasets = _find_datasets(root / "datasets", disp, issues)
    sources: dict[str, _Source] = {}
    invalid: dict[str, _Raw] = {}
    experiments = _load_experiments(root / "experiments", disp, issues, sources, invalid)
    judges, judge_templates = _load_judges(root / "judges", disp, issues, set(models), declared)
    user_metrics = _load_user_metrics(root / "metrics", disp, issues)
    budgets = _load_budgets(root / "budgets.yaml", disp, issues)
    lab = Lab(
        root, models, prompts, datasets, experiments, judges, judge_templates, user_metrics, budgets
    )
    for raw, file, lines in invalid.values():
        _check_raw_references(lab, raw, file, lines, issues, declared)
    if check_datasets:
        for dataset in datasets.values():
            try:
                _ = dataset.records
            except LabError as exc:
                issues.extend(exc)
    for name in list(experiments):
        if not _check_experiment(lab, name, sources[name], issues, check_datasets, declared):
            experiments.pop(name)
    for message in key_collisions((e, c) for e in experiments for c in lab.candidates(e)):
        issues.add(disp(root / "experiments"), message)
    issues.raise_if_any()
    return lab


class _Display:
    def __init__(self, root: Path) -> None:
        self.base = root.resolve().parent

    def __call__(self, path: Path) -> str:
        try:
            return str(path.resolve().relative_to(self.base))
        except ValueError:
            return str(path)


def _validate(
    model: type[BaseModel],
    data: Any,
    file: str,
    lines: dict[KeyPath, int],
    prefix: KeyPath,
    issues: IssueCollector,
) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            path = prefix + tuple(err["loc"])
            got = (
                f" (got {shorten(redact(repr(err['input'])))})"
                if "input" in err and err["type"] != "missing"
                else ""
            )
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                message = f"unknown key (allowed: {', '.join(sorted(model.model_fields))})"
                got = ""
            issues.add(file, message + got, line=line_of(lines, path), key=dotted(path))
        return None


def _load_models(
    path: Path, disp: _Display, issues: IssueCollector, declared: set[str]
) -> dict[str, ModelConfig]:
    file = disp(path)
    if not path.is_file():
        issues.add(file, "models.yaml not found: every lab declares its models there")
        return {}
    try:
        data, lines = load_yaml(path, file)
    except LabError as exc:
        issues.extend(exc)
        return {}
    if not isinstance(data, dict):
        issues.add(file, "expected a mapping of model name -> settings", line=1)
        return {}
    models: dict[str, ModelConfig] = {}
    declared.update(str(name) for name in data)
    for name, body in data.items():
        try:
            check_name(str(name), "model")
        except ValueError as exc:
            issues.add(file, str(exc), line=line_of(lines, (str(name),)), key=str(name))
            continue
        config = _validate(ModelConfig, body, file, lines, (str(name),), issues)
        if config is not None:
            models[str(name)] = config
    for name, config in models.items():
        for index, fallback in enumerate(config.fallbacks):
            if fallback not in models:
                issues.add(
                    file,
                    unknown("model", fallback, models),
                    line=line_of(lines, (name, "fallbacks", index)),
                    key=f"{name}.fallbacks[{index}]",
                )
    return models


def _load_prompts(folder: Path, disp: _Display, issues: IssueCollector) -> dict[str, Prompt]:
    if not folder.is_dir():
        issues.add(disp(folder), "prompts/ folder not found")
        return {}
    env = make_environment(folder)
    prompts: dict[str, Prompt] = {}
    for path in sorted(folder.glob("*.jinja")):
        if not inside(path, folder.parent):
            issues.add(
                f"{disp(folder)}/{path.name}",
                f"a link to {path.resolve()}, outside the lab: copy the file in",
            )
            continue
        try:
            check_name(path.stem, "prompt")
            prompts[path.stem] = load_prompt(env, path, disp(path))
        except LabError as exc:
            issues.extend(exc)
        except ValueError as exc:
            issues.add(disp(path), str(exc))
    return prompts


def _load_judges(
    folder: Path, disp: _Display, issues: IssueCollector, models: set[str], declared: set[str]
) -> tuple[dict[str, JudgeConfig], dict[str, Prompt]]:
    """``judges/*.yaml`` (the folder is optional), with their templates and references checked."""
    if not folder.is_dir():
        return {}, {}
    env = make_environment(folder)
    judges: dict[str, JudgeConfig] = {}
    templates: dict[str, Prompt] = {}
    lines_of: dict[str, tuple[str, dict[KeyPath, int]]] = {}
    for path in _yaml_files(folder, "judge", disp, issues):
        file = disp(path)
        try:
            check_name(path.stem, "judge")
            data, lines = load_yaml(path, file)
        except LabError as exc:
            issues.extend(exc)
            continue
        except ValueError as exc:
            issues.add(file, str(exc))
            continue
        config = _validate(JudgeConfig, data, file, lines, (), issues)
        if config is None:
            continue
        lines_of[path.stem] = (file, lines)
        ok = True
        if config.model and config.model not in models:
            why = (
                f"model {shown(config.model)} is declared but invalid (see models.yaml)"
                if config.model in declared
                else unknown("model", config.model, models)
            )
            issues.add(file, why, line=line_of(lines, ("model",)))
            ok = False
        if config.template:
            target = _judge_template(folder, config.template)
            where = line_of(lines, ("template",))
            if isinstance(target, str):
                issues.add(file, target, line=where, key="template")
                ok = False
            else:
                try:
                    templates[path.stem] = load_prompt(env, target, disp(target))
                except LabError as exc:
                    issues.extend(exc)
                    ok = False
        if ok:
            judges[path.stem] = config
    for name, config in list(judges.items()):
        if config.kind != "panel":
            continue
        file, lines = lines_of[name]
        dims = None
        for index, member in enumerate(config.members):
            where = line_of(lines, ("members", index))
            other = judges.get(member)
            if other is None:
                issues.add(file, unknown("judge", member, judges), line=where)
            elif other.kind != "rubric":
                issues.add(
                    file,
                    f"member {shown(member)} is a {other.kind} judge, not a rubric",
                    line=where,
                )
            elif dims is not None and other.dimensions != dims:
                issues.add(
                    file,
                    f"member {shown(member)} scores {other.dimensions}, the others {dims}: "
                    "a panel's members must score the same dimensions",
                    line=where,
                )
            else:
                dims = other.dimensions
    return judges, templates


def _judge_template(folder: Path, name: str) -> Path | str:
    """The judge template ``name`` (relative to judges/), or why it can't be used.

    Only files inside the lab: an absolute path, a ``..`` leaving the lab or a symlink resolving
    outside it would send a file of the machine (``/etc/passwd``) to the judge's provider.
    """
    root = folder.parent
    if Path(name).is_absolute():
        return f"template {shown(name)} is an absolute path; give a path inside the lab"
    target = folder / name
    if not inside(target, root):
        return f"template {shown(name)} resolves outside the lab ({root}); keep it in judges/"
    if not target.is_file():
        return f"template {shown(name)} not found in {folder.name}/"
    return target


def _load_budgets(path: Path, disp: _Display, issues: IssueCollector) -> BudgetsConfig:
    if not path.is_file():
        return BudgetsConfig()
    file = disp(path)
    try:
        data, lines = load_yaml(path, file)
    except LabError as exc:
        issues.extend(exc)
        return BudgetsConfig()
    config = _validate(BudgetsConfig, data or {}, file, lines, (), issues)
    return config if config is not None else BudgetsConfig()


def _load_user_metrics(folder: Path, disp: _Display, issues: IssueCollector) -> dict[str, Metric]:
    if not folder.is_dir():
        return {}
    try:
        return load_user_metrics(folder)
    except LabError as exc:
        issues.extend(exc)
        return {}


def _find_datasets(folder: Path, disp: _Display, issues: IssueCollector) -> dict[str, Dataset]:
    if not folder.is_dir():
        issues.add(disp(folder), "datasets/ folder not found")
        return {}
    datasets: dict[str, Dataset] = {}
    for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in DATASET_SUFFIXES):
        try:
            check_name(path.stem, "dataset")
        except ValueError as exc:
            issues.add(disp(path), str(exc))
            continue
        if path.stem in datasets:
            issues.add(
                disp(path),
                f"two files define dataset {path.stem!r}: "
                f"{datasets[path.stem].display} and this one",
            )
            continue
        datasets[path.stem] = Dataset(path.stem, path, disp(path))
    return datasets


def _yaml_files(folder: Path, kind: str, disp: _Display, issues: IssueCollector) -> list[Path]:
    """``*.yaml`` and ``*.yml`` of a folder; a name given by both is refused, not guessed."""
    by_stem: dict[str, list[Path]] = {}
    for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
        by_stem.setdefault(path.stem, []).append(path)
    for stem, paths in by_stem.items():
        if len(paths) > 1:
            issues.add(
                disp(paths[-1]),
                f"two files define {kind} {shown(stem)}: "
                f"{' and '.join(p.name for p in paths)}; keep one",
            )
    return sorted(paths[0] for paths in by_stem.values() if len(paths) == 1)


_Source = tuple[str, dict[KeyPath, int]]
_Raw = tuple[dict[str, Any], str, dict[KeyPath, int]]


def _load_experiments(
    folder: Path,
    disp: _Display,
    issues: IssueCollector,
    sources: dict[str, _Source],
    invalid: dict[str, _Raw],
) -> dict[str, ExperimentConfig]:
    if not folder.is_dir():
        issues.add(disp(folder), "experiments/ folder not found")
        return {}
    experiments: dict[str, ExperimentConfig] = {}
    for path in _yaml_files(folder, "experiment", disp, issues):
        file = disp(path)
        try:
            check_name(path.stem, "experiment")
            data, lines = load_yaml(path, file)
        except LabError as exc:
            issues.extend(exc)
            continue
        except ValueError as exc:
            issues.add(file, str(exc))
            continue
        config = _validate(ExperimentConfig, data, file, lines, (), issues)
        if config is not None:
            experiments[path.stem] = config
            sources[path.stem] = (file, lines)
        elif isinstance(data, dict):
            invalid[path.stem] = (data, file, lines)
    return experiments


def _check_raw_references(
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


def _check_experiment(
    lab: Lab,
    name: str,
    source: _Source,
    issues: IssueCollector,
    check_datasets: bool,
    declared: set[str],
) -> bool:
    config = lab.experiments[name]
    file, lines = source
    before = len(issues.issues)

    def add(key: KeyPath, message: str) -> None:
        issues.add(file, message, line=line_of(lines, key), key=dotted(key))

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
    if (too_many := too_many_candidates(config)) is not None:
        add(("params_grid",) if config.params_grid else ("prompts",), too_many)
        return False
    for index, values in enumerate(_grid_points(config)):
        try:
            GenerationParams(**values)
        except ValidationError as exc:
            add(("params_grid",), f"grid point {index} {shown(values)}: {exc.errors()[0]['msg']}")
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
        _check_fields(lab, config, add, issues)
    return len(issues.issues) == before


def _grid_points(config: ExperimentConfig) -> list[dict[str, Any]]:
    names = list(config.params_grid)
    return [
        dict(zip(names, p, strict=True)) for p in itertools.product(*config.params_grid.values())
    ]


def _check_baseline(lab: Lab, name: str, spec: str, add: Any) -> None:
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


def _check_adaptive(lab: Lab, name: str, config: ExperimentConfig, add: Any) -> None:
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


def _check_optimize(lab: Lab, config: ExperimentConfig, add: Any) -> None:
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


def _check_gate(lab: Lab, name: str, config: ExperimentConfig, add: Any) -> None:
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


def _check_fields(lab: Lab, config: ExperimentConfig, add: Any, issues: IssueCollector) -> None:
    _check_variables(lab, config.dataset, config.prompts, issues)


def _check_variables(lab: Lab, name: str, prompts: list[str], issues: IssueCollector) -> None:
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
