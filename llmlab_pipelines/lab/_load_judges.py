"""Load ``judges/``: each judge's settings, its model, its template, and panels' members."""

from __future__ import annotations

from pathlib import Path

from ._errors import IssueCollector, LabError, shown, unknown
from ._judges import JudgeConfig
from ._read import Display, Source, read_yaml_files, validate_model
from ._sandbox import LabSandbox, inside, make_environment
from ._templates import Prompt, load_prompt
from ._yaml import line_of


def load_judges(
    folder: Path, disp: Display, issues: IssueCollector, models: set[str], declared: set[str]
) -> tuple[dict[str, JudgeConfig], dict[str, Prompt]]:
    """``judges/*.yaml`` (the folder is optional), with their templates and references checked.

    Args:
        folder: The lab's ``judges/`` folder.
        disp: How paths are shown in messages.
        issues: Where every problem found is added.
        models: The lab's valid models.
        declared: Every model name of models.yaml, valid or not.

    Returns:
        The valid judges and, by judge name, the templates that compiled.
    """
    if not folder.is_dir():
        return {}, {}
    env = make_environment(folder)
    judges: dict[str, JudgeConfig] = {}
    templates: dict[str, Prompt] = {}
    sources: dict[str, Source] = {}
    for path, file, data, lines in read_yaml_files(folder, "judge", disp, issues):
        config = validate_model(JudgeConfig, data, file, lines, (), issues)
        if config is None:
            continue
        sources[path.stem] = (file, lines)
        ok = _check_model(config, (file, lines), issues, models, declared)
        if config.template:
            template = _load_template(env, folder, config.template, disp, (file, lines), issues)
            if template is None:
                ok = False
            else:
                templates[path.stem] = template
        if ok:
            judges[path.stem] = config
    _check_panels(judges, sources, issues)
    return judges, templates


def _check_model(
    config: JudgeConfig,
    source: Source,
    issues: IssueCollector,
    models: set[str],
    declared: set[str],
) -> bool:
    """Whether the judge's model (if it names one) is a valid model of the lab."""
    if not config.model or config.model in models:
        return True
    file, lines = source
    why = (
        f"model {shown(config.model)} is declared but invalid (see models.yaml)"
        if config.model in declared
        else unknown("model", config.model, models)
    )
    issues.add(file, why, line=line_of(lines, ("model",)))
    return False


def _load_template(
    env: LabSandbox,
    folder: Path,
    name: str,
    disp: Display,
    source: Source,
    issues: IssueCollector,
) -> Prompt | None:
    """The judge's template compiled, or None once its problem is added to ``issues``."""
    file, lines = source
    target = _judge_template(folder, name)
    if isinstance(target, str):
        issues.add(file, target, line=line_of(lines, ("template",)), key="template")
        return None
    try:
        return load_prompt(env, target, disp(target))
    except LabError as exc:
        issues.extend(exc)
        return None


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


def _check_panels(
    judges: dict[str, JudgeConfig], sources: dict[str, Source], issues: IssueCollector
) -> None:
    """Each panel's members: known rubric judges that all score the same dimensions."""
    for name, config in judges.items():
        if not config.rules.combines:
            continue
        file, lines = sources[name]
        dims = None
        for index, member in enumerate(config.members):
            where = line_of(lines, ("members", index))
            other = judges.get(member)
            if other is None:
                issues.add(file, unknown("judge", member, judges), line=where)
            elif not other.rules.member:
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
