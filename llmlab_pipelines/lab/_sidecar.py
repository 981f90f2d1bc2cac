"""A dataset's sidecar, ``datasets/<name>.yaml``: how a file kept as published becomes records.

::

    id: line                     # a field name, `line` (line/row number) or `hash` (of content)
    expected: "{{ answer.split('####')[-1] | trim | replace(',', '') }}"
    fields: {question: input}    # renames: published name -> name the prompts use
    filter: "level == 'easy'"    # optional: keep the records where this is true
    limit: 100                   # optional: the first N records kept

``expected`` and ``filter`` are Jinja, sandboxed like prompts: ``{{ expr }}`` keeps the value's
type (a list stays a list: any-of answers), a longer template renders to text, a bare name is a
field (``answers.text`` reaches into nested columns). ``expected`` may also be a list of them.
Expressions see the record as published and under its new names.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ._errors import IssueCollector, shorten, shown, shown_names
from ._render_limits import render_budget
from ._sandbox import LabSandbox, make_environment
from ._yaml import KeyPath, dotted, line_of, load_yaml

SIDECAR_SUFFIXES = (".yaml", ".yml")
ID_KINDS = ("line", "hash")
_SINGLE = re.compile(r"^\s*\{\{(?P<expr>.*)\}\}\s*$", re.DOTALL)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NO_FIELD = object()


class DatasetSpec(BaseModel):
    """The keys of a sidecar file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str | None = Field(default=None, min_length=1, description="field name, line or hash")
    expected: str | list[str] | None = Field(
        default=None, description="Jinja expression or field name; a list: any-of answers"
    )
    fields: dict[str, str] = Field(default_factory=dict, description="published -> new name")
    filter: str | None = Field(default=None, min_length=1, description="Jinja boolean")
    limit: int | None = Field(default=None, gt=0, description="keep the first N records")

    @field_validator("fields")
    @classmethod
    def _new_names(cls, fields: dict[str, str]) -> dict[str, str]:
        for old, new in fields.items():
            if not _NAME.match(new) or new == "item":
                raise ValueError(
                    f"{old}: {shown(new)} can't name a field (letters, digits and '_'; 'item' "
                    "is the whole record in templates)"
                )
        targets = list(fields.values())
        twice = sorted({t for t in targets if targets.count(t) > 1})
        if twice:
            raise ValueError(f"two fields renamed to {shown_names(twice)}")
        return fields


def sidecar_path(data: Path) -> Path | None:
    """``datasets/<name>.yaml`` (or ``.yml``) beside a data file, when there is one."""
    for suffix in SIDECAR_SUFFIXES:
        path = data.with_suffix(suffix)
        if path.is_file():
            return path
    return None


class Expression:
    """One ``expected`` or ``filter`` entry: a Jinja expression, template or field name."""

    def __init__(self, env: LabSandbox, text: str, *, field_ok: bool) -> None:
        self.text = text
        single = _SINGLE.match(text)
        self._field: str | None = None
        self._call: Callable[[dict[str, Any]], Any]
        if single and "{{" not in single["expr"] and "}}" not in single["expr"]:
            expr = env.compile_expression(single["expr"], undefined_to_none=False)
            self._call = lambda record: expr(**record)
        elif "{{" in text or "{%" in text:
            template = env.from_string(text)
            self._call = template.render
        elif field_ok:
            self._field = text.strip()
            self._call = lambda record: lookup(record, text.strip())
        else:
            expr = env.compile_expression(text, undefined_to_none=False)
            self._call = lambda record: expr(**record)

    def __call__(self, record: dict[str, Any]) -> Any:
        """The value for one record (``record`` holds ``item`` too).

        Raises:
            ValueError: naming what is undefined or what the sandbox refused.
        """
        try:
            with render_budget():  # the time and size bounds of a prompt's render, per record
                value = self._call(record)
        except jinja2.UndefinedError as exc:
            raise ValueError(exc.message) from None
        except jinja2.exceptions.SecurityError as exc:
            raise ValueError(f"refused by the sandbox: {exc}") from None
        except KeyError:
            fields = shown_names(k for k in record if k != "item")
            raise ValueError(f"no field {shown(self._field)} (fields: {fields})") from None
        except Exception as exc:  # a method raising on odd data
            raise ValueError(f"{type(exc).__name__}: {shorten(str(exc), 200)}") from None
        if isinstance(value, jinja2.Undefined):
            raise ValueError(f"{shown(self.text)} is undefined for this record")
        return value


def lookup(record: dict[str, Any], name: str) -> Any:
    """A field by name, or by a dotted path into nested columns (``answers.text``).

    A list of objects on the way is projected: ``choices.text`` of ``[{text: a}, {text: b}]``
    is ``[a, b]``.

    Raises:
        KeyError: the record has no such field.
    """
    if name in record:
        return record[name]
    value: Any = record
    for part in name.split("."):
        value = _step(value, part)
        if value is _NO_FIELD:
            raise KeyError(name)
    return value


def _step(value: Any, part: str) -> Any:
    if isinstance(value, dict):
        return value.get(part, _NO_FIELD)
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        found = [v.get(part, _NO_FIELD) for v in value]
        return _NO_FIELD if _NO_FIELD in found else found
    return _NO_FIELD


@dataclass
class Sidecar:
    """A loaded, checked sidecar, ready to map the rows of its data file."""

    spec: DatasetSpec
    display: str
    data_display: str
    lines: dict[KeyPath, int]
    expected: list[Expression]
    filter: Expression | None

    def problem(self, issues: IssueCollector, key: KeyPath, message: str) -> None:
        """Record a problem at one key of the sidecar."""
        issues.add(self.display, message, line=line_of(self.lines, key), key=dotted(key))

    def apply(self, rows: Iterable[tuple[int, dict[str, Any]]], issues: IssueCollector) -> Rows:
        """The rows as records: renamed, filtered, limited, with ``id`` and ``expected``."""
        kept = 0
        for line, raw in rows:
            if self.spec.limit is not None and kept >= self.spec.limit:
                return
            record = self._map(line, raw, issues)
            if record is not None:
                kept += 1
                yield line, record

    def _map(self, line: int, raw: dict[str, Any], issues: IssueCollector) -> dict[str, Any] | None:
        where = f"the record on line {line} of {self.data_display}"
        record = self._renamed(raw, where, issues)
        if record is None:
            return None
        scope = {**raw, **record, "item": record}
        try:
            if self.filter is not None and not self.filter(scope):
                return None
        except ValueError as exc:
            self.problem(issues, ("filter",), f"{where}: {exc}")
            return None
        if self.spec.id is not None:
            record["id"] = self._id(line, raw, scope)
        if self.expected:
            try:
                record["expected"] = self._expected(scope)
            except ValueError as exc:
                self.problem(issues, ("expected",), f"{where}: {exc}")
                return None
        return record

    def _renamed(
        self, raw: dict[str, Any], where: str, issues: IssueCollector
    ) -> dict[str, Any] | None:
        record = {k: v for k, v in raw.items() if k not in self.spec.fields}
        for old, new in self.spec.fields.items():
            try:
                record[new] = lookup(raw, old)
            except KeyError:
                fields = shown_names(raw)
                self.problem(issues, ("fields", old), f"{where} has no {old!r} (fields: {fields})")
                return None
        return record

    def _id(self, line: int, raw: dict[str, Any], scope: dict[str, Any]) -> Any:
        if self.spec.id == "line":
            return str(line)
        if self.spec.id == "hash":
            text = json.dumps(raw, sort_keys=True, ensure_ascii=False, default=str)
            return hashlib.sha256(text.encode()).hexdigest()[:12]
        try:
            return lookup(scope, str(self.spec.id))
        except KeyError:
            return None  # reported by the record check: "record has no 'id'"

    def _expected(self, scope: dict[str, Any]) -> Any:
        values = [expr(scope) for expr in self.expected]
        if len(self.expected) == 1 and not isinstance(self.spec.expected, list):
            value = values[0]
            return None if value == [] else value
        flat = [v for value in values for v in (value if isinstance(value, list) else [value])]
        return flat or None


Rows = Iterator[tuple[int, dict[str, Any]]]


def load_sidecar(data: Path, data_display: str) -> Sidecar | None:
    """The sidecar of a data file, validated, or None when it has none.

    Raises:
        LabError: every problem, each with the sidecar's file, line and key.
    """
    path = sidecar_path(data)
    if path is None:
        return None
    display = str(Path(data_display).with_suffix(path.suffix))
    data_yaml, lines = load_yaml(path, display)
    issues = IssueCollector()
    spec = _validated(data_yaml or {}, display, lines, issues)
    issues.raise_if_any()
    assert spec is not None
    env = make_environment(path.parent)
    sidecar = Sidecar(spec, display, data_display, lines, [], None)
    texts = spec.expected if isinstance(spec.expected, list) else [spec.expected]
    for index, text in enumerate(t for t in texts if t is not None):
        key: KeyPath = ("expected", index) if isinstance(spec.expected, list) else ("expected",)
        try:
            sidecar.expected.append(Expression(env, text, field_ok=True))
        except jinja2.TemplateSyntaxError as exc:
            sidecar.problem(issues, key, f"Jinja syntax error: {exc.message}")
    if spec.filter is not None:
        try:
            sidecar.filter = Expression(env, spec.filter, field_ok=False)
        except jinja2.TemplateSyntaxError as exc:
            sidecar.problem(issues, ("filter",), f"Jinja syntax error: {exc.message}")
    issues.raise_if_any()
    return sidecar


def _validated(
    data: Any, display: str, lines: dict[KeyPath, int], issues: IssueCollector
) -> DatasetSpec | None:
    if not isinstance(data, dict):
        issues.add(display, "expected a mapping (id, expected, fields, filter, limit)", line=1)
        return None
    try:
        return DatasetSpec.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            path = tuple(err["loc"])
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                message = f"unknown key (allowed: {', '.join(DatasetSpec.model_fields)})"
            issues.add(display, message, line=line_of(lines, path), key=dotted(path))
        return None


def missing_id_hint(display: str) -> str:
    """How to give records an id without touching the data file."""
    sidecar = str(Path(display).with_suffix(".yaml"))
    return (
        f"give the records one in a sidecar, {sidecar}: `id: line` (the line or row number), "
        "`id: hash` (of the record's content) or `id: <field>`"
    )
