"""Prompt templates: content-hashed versions, strict variables, rendered in the lab's sandbox.

The sandbox itself (no Python, no files outside the lab) is :mod:`._sandbox`; the bounds of one
render (time, size, allocations) are :mod:`._render_limits`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import meta

from ._errors import LabError, shown
from ._render_limits import MAX_RENDERED_CHARS, RenderLimit, render_budget, tick
from ._sandbox import LabSandbox, inside

MAX_TEMPLATE_BYTES = 1_000_000
BUILTIN_VARIABLES = frozenset({"item", "loop", "range", "namespace", "dict", "lipsum", "cycler"})


class TemplateRenderError(LabError):
    """A template that cannot be rendered for one dataset record."""


@dataclass(frozen=True)
class Prompt:
    """One prompt template; its version is the hash of its content (and of what it includes)."""

    name: str
    path: Path
    display: str
    source: str
    hash: str
    variables: frozenset[str]
    _template: jinja2.Template = field(repr=False, compare=False)

    @property
    def version(self) -> str:
        """The short content hash used in partition keys."""
        return self.hash[:8]

    def render(self, record: dict[str, Any], *, item_id: str = "?") -> str:
        """Render for one record, within the sandbox's bounds of time and size.

        Raises:
            TemplateRenderError: naming the template, the item and what went wrong.
        """
        where = f"item {shown(item_id)}"
        if "item" in record:
            raise TemplateRenderError.single(
                self.display,
                f"{where}: the record has a field named 'item', which templates reserve for "
                "the whole record ({{ item.question }}); rename the field",
            )
        with render_budget():
            try:
                return self._render({**record, "item": record})
            except RenderLimit as exc:
                raise TemplateRenderError.single(self.display, f"{where}: {exc}") from None
            except jinja2.UndefinedError as exc:
                raise TemplateRenderError.single(
                    self.display, f"{where}: {exc.message}", key="render"
                ) from None
            except jinja2.exceptions.SecurityError as exc:
                raise TemplateRenderError.single(
                    self.display, f"{where}: refused by the sandbox: {exc}"
                ) from None
            except Exception as exc:  # a filter raising on odd data, a division by zero ...
                raise TemplateRenderError.single(
                    self.display, f"{where}: {type(exc).__name__}: {exc}"
                ) from None

    def _render(self, variables: dict[str, Any]) -> str:
        parts: list[str] = []
        size = 0
        for chunk in self._template.generate(variables):
            size += len(chunk)
            if size > MAX_RENDERED_CHARS:
                raise RenderLimit(
                    f"the rendered prompt passed {MAX_RENDERED_CHARS:,} characters (the limit)"
                )
            parts.append(chunk)
        tick()
        return "".join(parts)


def prompt_from_source(env: LabSandbox, name: str, source: str, path: Path) -> Prompt:
    """Compile a template held as text (a proposed variant); ``path`` is where it would live.

    Raises:
        LabError: on a syntax error (with its line) or a template over the size limit.
    """
    raw = source.encode("utf-8")
    _check_size(raw, name)
    return _compile(env, name=name, path=path, display=name, raw=raw, source=source)


def load_prompt(env: LabSandbox, path: Path, display: str) -> Prompt:
    """Compile one template file.

    Raises:
        LabError: on a syntax error (with its line) or a template over the size limit.
    """
    raw = path.read_bytes()
    _check_size(raw, display)
    try:
        source = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LabError.single(
            display, f"not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None
    return _compile(env, name=path.stem, path=path, display=display, raw=raw, source=source)


def _check_size(raw: bytes, display: str) -> None:
    if len(raw) > MAX_TEMPLATE_BYTES:
        raise LabError.single(
            display, f"template is {len(raw):,} bytes; the limit is {MAX_TEMPLATE_BYTES:,}"
        )


def _compile(
    env: LabSandbox,
    *,
    name: str,
    path: Path,
    display: str,
    raw: bytes,
    source: str,
) -> Prompt:
    """Parse a template; its hash covers its bytes and those of the templates it includes."""
    try:
        ast = env.parse(source)
        template = env.from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise LabError.single(
            display, f"template syntax error: {exc.message}", line=exc.lineno
        ) from None
    digest = hashlib.sha256(raw)
    for included_name in sorted(n for n in meta.find_referenced_templates(ast) if n):
        included = path.parent / included_name
        if included.is_file() and inside(included, path.parent.parent):
            digest.update(included.read_bytes())
    variables = frozenset(meta.find_undeclared_variables(ast)) - BUILTIN_VARIABLES
    return Prompt(
        name=name,
        path=path,
        display=display,
        source=source,
        hash=digest.hexdigest(),
        variables=variables,
        _template=template,
    )
