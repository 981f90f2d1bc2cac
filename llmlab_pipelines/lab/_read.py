"""Reading a lab's files: display paths, YAML folders, and schema errors turned into issues."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from ..secrets import redact
from ._errors import IssueCollector, LabError, shorten, shown
from ._schema import check_name
from ._yaml import KeyPath, dotted, line_of, load_yaml

#: Where an experiment was read from: its display path and the line of each key.
Source = tuple[str, dict[KeyPath, int]]
#: An experiment that failed its schema: its raw mapping, display path and lines.
Raw = tuple[dict[str, Any], str, dict[KeyPath, int]]


class Display:
    """Paths as the user's messages show them: relative to the folder holding the lab."""

    def __init__(self, root: Path) -> None:
        self.base = root.resolve().parent

    def __call__(self, path: Path) -> str:
        try:
            return str(path.resolve().relative_to(self.base))
        except ValueError:
            return str(path)


def validate_model(
    model: type[BaseModel],
    data: Any,
    file: str,
    lines: dict[KeyPath, int],
    prefix: KeyPath,
    issues: IssueCollector,
) -> Any:
    """``model`` validated from ``data``, or None with each schema error added to ``issues``."""
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


def yaml_files(folder: Path, kind: str, disp: Display, issues: IssueCollector) -> list[Path]:
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


def read_yaml_files(
    folder: Path, kind: str, disp: Display, issues: IssueCollector
) -> Iterator[tuple[Path, str, Any, dict[KeyPath, int]]]:
    """``(path, display path, data, lines)`` of each YAML file of a folder that parses.

    A file with an invalid name or broken YAML is reported to ``issues`` and skipped.
    """
    for path in yaml_files(folder, kind, disp, issues):
        file = disp(path)
        try:
            check_name(path.stem, kind)
            data, lines = load_yaml(path, file)
        except LabError as exc:
            issues.extend(exc)
            continue
        except ValueError as exc:
            issues.add(file, str(exc))
            continue
        yield path, file, data, lines
