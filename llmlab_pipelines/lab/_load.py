"""Load a lab folder into one validated object, reporting every problem at once."""

from __future__ import annotations

from pathlib import Path

from ..metrics import Metric, load_user_metrics
from ._candidates import key_collisions
from ._datasets import DATASET_SUFFIXES, Dataset
from ._errors import IssueCollector, LabError, unknown
from ._lab import Lab
from ._labels import load_labels
from ._load_judges import load_judges
from ._read import Display, Raw, Source, read_yaml_files, validate_model
from ._sandbox import inside, make_environment
from ._schema import BudgetsConfig, ExperimentConfig, ModelConfig, check_name
from ._templates import Prompt, load_prompt
from ._validate_experiments import check_experiment, check_raw_references
from ._yaml import line_of, load_yaml


def load_lab(root: str | Path, *, check_datasets: bool = True) -> Lab:
    """Load and validate a lab folder.

    Args:
        root: The lab folder (holding models.yaml, prompts/, datasets/, experiments/, and
            optionally judges/, labels/, metrics/, budgets.yaml).
        check_datasets: Also read every dataset an experiment uses and check the templates'
            variables against its fields.

    Raises:
        LabError: listing every problem, each with its file and line or key.
    """
    root = Path(root)
    issues = IssueCollector()
    if not root.is_dir():
        raise LabError.single(str(root), "lab folder not found (set LLMLAB_LAB or pass --lab)")
    disp = Display(root)
    declared: set[str] = set()  # model names, valid or not: a broken model is not "unknown"
    models = _load_models(root / "models.yaml", disp, issues, declared)
    prompts = _load_prompts(root / "prompts", disp, issues)
    datasets = _find_datasets(root / "datasets", disp, issues)
    sources: dict[str, Source] = {}
    invalid: dict[str, Raw] = {}
    experiments = _load_experiments(root / "experiments", disp, issues, sources, invalid)
    judges, judge_templates = load_judges(root / "judges", disp, issues, set(models), declared)
    user_metrics = _load_user_metrics(root / "metrics", issues)
    budgets = _load_budgets(root / "budgets.yaml", disp, issues)
    lab = Lab(
        root, models, prompts, datasets, experiments, judges, judge_templates, user_metrics, budgets
    )
    for raw, file, lines in invalid.values():
        check_raw_references(lab, raw, file, lines, issues, declared)
    if check_datasets:
        for dataset in datasets.values():
            try:
                _ = dataset.records
            except LabError as exc:
                issues.extend(exc)
    lab.human_labels = load_labels(
        root / "labels", disp, issues, datasets, judges, check_ids=check_datasets
    )
    for name in list(experiments):
        if not check_experiment(lab, name, sources[name], issues, check_datasets, declared):
            experiments.pop(name)
    for message in key_collisions((e, c) for e in experiments for c in lab.candidates(e)):
        issues.add(disp(root / "experiments"), message)
    issues.raise_if_any()
    return lab


def _load_models(
    path: Path, disp: Display, issues: IssueCollector, declared: set[str]
) -> dict[str, ModelConfig]:
    """``models.yaml``: each model validated, and its fallbacks among the valid ones."""
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
        config = validate_model(ModelConfig, body, file, lines, (str(name),), issues)
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


def _load_prompts(folder: Path, disp: Display, issues: IssueCollector) -> dict[str, Prompt]:
    """``prompts/*.jinja``, compiled in the lab's sandbox."""
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


def _load_budgets(path: Path, disp: Display, issues: IssueCollector) -> BudgetsConfig:
    """``budgets.yaml`` (optional)."""
    if not path.is_file():
        return BudgetsConfig()
    file = disp(path)
    try:
        data, lines = load_yaml(path, file)
    except LabError as exc:
        issues.extend(exc)
        return BudgetsConfig()
    config = validate_model(BudgetsConfig, data or {}, file, lines, (), issues)
    return config if config is not None else BudgetsConfig()


def _load_user_metrics(folder: Path, issues: IssueCollector) -> dict[str, Metric]:
    """The lab's own metrics, ``metrics/*.py`` (the folder is optional)."""
    if not folder.is_dir():
        return {}
    try:
        return load_user_metrics(folder)
    except LabError as exc:
        issues.extend(exc)
        return {}


def _find_datasets(folder: Path, disp: Display, issues: IssueCollector) -> dict[str, Dataset]:
    """The dataset files of ``datasets/`` (read later, when their records are asked for)."""
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


def _load_experiments(
    folder: Path,
    disp: Display,
    issues: IssueCollector,
    sources: dict[str, Source],
    invalid: dict[str, Raw],
) -> dict[str, ExperimentConfig]:
    """``experiments/*.yaml`` that pass their schema; those that don't go to ``invalid``."""
    if not folder.is_dir():
        issues.add(disp(folder), "experiments/ folder not found")
        return {}
    experiments: dict[str, ExperimentConfig] = {}
    for path, file, data, lines in read_yaml_files(folder, "experiment", disp, issues):
        config = validate_model(ExperimentConfig, data, file, lines, (), issues)
        if config is not None:
            experiments[path.stem] = config
            sources[path.stem] = (file, lines)
        elif isinstance(data, dict):
            invalid[path.stem] = (data, file, lines)
    return experiments
