"""The lab's Jinja sandbox: no Python, no files outside the lab, bounded renders.

The sandbox keeps templates away from Python and from files outside the lab, and bounds what
one render may cost: time (``RENDER_SECONDS`` per item, checked at every loop step, call and
filter), the rendered size (``MAX_RENDERED_CHARS``) and the operations that allocate a large
string in one step (``range``, ``lipsum``, format widths, ``*``, ``**``, ``+``, ``~``, ``%``,
``str`` methods such as ``ljust`` or ``join``, widening filters), each checked *before* it
allocates; all of them together may make at most ``MAX_ALLOCATED_CHARS`` per render.
"""

from __future__ import annotations

import functools
import string
import types
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, cast

import jinja2
from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedFormatter
from markupsafe import EscapeFormatter, Markup

from ._errors import shown
from ._render_limits import (
    MAX_RENDERED_CHARS,
    bounded_lipsum,
    bounded_range,
    check_arguments,
    check_binop,
    check_count,
    check_format_spec,
    check_length,
    check_output,
    check_str_method,
    check_text,
    current_budget,
    text_size,
    tick,
)


class _WidthLimit(string.Formatter):
    """Bounded widths, and a result refused before it passes the limit (``'{0}{0}{0}'``)."""

    _made = 0

    def vformat(self, format_string: str, args: Any, kwargs: Any) -> str:
        self._made = len(format_string)
        return super().vformat(format_string, args, kwargs)

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        if conversion is not None:
            self._add(text_size(value))
        return super().convert_field(value, conversion)

    def format_field(self, value: Any, format_spec: str) -> Any:
        check_format_spec(format_spec)
        self._add(text_size(value))
        return super().format_field(value, format_spec)

    def _add(self, n: int) -> None:
        self._made += n
        if self._made > MAX_RENDERED_CHARS:
            check_count(self._made, "str.format()")


class _BoundedFormatter(_WidthLimit, SandboxedFormatter):
    pass


class _BoundedEscapeFormatter(_WidthLimit, SandboxedFormatter, EscapeFormatter):
    pass


class LabSandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox with bounds on time and size (see the module's docstring)."""

    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("finalize", check_output)
        super().__init__(*args, **kwargs)
        self.code_generator_class = _LabCodeGenerator
        self.globals["range"] = bounded_range
        self.globals["lipsum"] = bounded_lipsum
        self.filters = {name: _guarded(name, fn) for name, fn in self.filters.items()}
        tests = cast("dict[str, Callable[..., Any]]", self.tests)  # typed `function` by jinja2
        self.tests = {name: _guarded(name, fn) for name, fn in tests.items()}

    def call(self, context: Any, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        """Every call from a template (functions, macros, methods) checks the time; a ``str``
        method that makes a string (``ljust``, ``replace``, ``join`` ...) checks its size first."""
        tick()
        target = getattr(obj, "__self__", None)
        if isinstance(target, str) and isinstance(obj, (types.BuiltinMethodType, types.MethodType)):
            name = obj.__name__
            if name == "join" and args and not isinstance(args[0], (str, list, tuple)):
                args = (list(self.llmlab_loop(args[0])), *args[1:])
            check_str_method(target, name, args, kwargs)
            return check_length(super().call(context, obj, *args, **kwargs), f"str.{name}()")
        return super().call(context, obj, *args, **kwargs)

    def llmlab_concat(self, values: tuple[Any, ...]) -> tuple[Any, ...]:
        """What ``a ~ b`` joins, refused first if the text would be too long."""
        tick()
        check_text(values, "'~' concatenation")
        return values

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        """``*``, ``**`` and ``%``, refused before they allocate something huge."""
        tick()
        check_binop(operator, left, right)
        return self.binop_table[operator](left, right)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """``str.format`` / ``format_map``, sandboxed and with bounded field widths."""
        if super().wrap_str_format(value) is None:
            return None
        f_self = value.__self__
        formatter: SandboxedFormatter = (
            _BoundedEscapeFormatter(self, escape=f_self.escape)
            if isinstance(f_self, Markup)
            else _BoundedFormatter(self)
        )
        is_format_map = value.__name__ == "format_map"

        def wrapper(*args: Any, **kwargs: Any) -> str:
            if is_format_map:
                if kwargs or len(args) != 1:
                    raise TypeError("format_map() takes exactly one argument")
                kwargs, args = args[0], ()
            return type(f_self)(formatter.vformat(f_self, args, kwargs))

        return functools.update_wrapper(wrapper, value)

    def llmlab_loop(self, iterable: Iterable[Any]) -> Iterator[Any]:
        """What every ``{% for %}`` iterates: the items, checking the time as it goes."""
        budget = current_budget()
        for value in iterable:
            if budget is not None:
                budget.steps += 1
                if budget.steps % 256 == 0:
                    tick()
            yield value

    def _generate(
        self,
        source: nodes.Template,
        name: str | None,
        filename: str | None,
        defer_init: bool = False,
    ) -> str:
        for loop in source.find_all(nodes.For):
            loop.iter = nodes.Call(
                nodes.EnvironmentAttribute("llmlab_loop"),
                [loop.iter],
                [],
                None,
                None,
                lineno=loop.iter.lineno,
            )
        return super()._generate(source, name, filename, defer_init=defer_init)


class _LabCodeGenerator(CodeGenerator):
    """Jinja's code generator, with ``a ~ b`` checked by ``LabSandbox.llmlab_concat`` first."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        # as CodeGenerator.visit_Concat (jinja2 3.1), the values passing through llmlab_concat
        if frame.eval_ctx.volatile:
            func_name = "(markup_join if context.eval_ctx.volatile else str_join)"
        elif frame.eval_ctx.autoescape:
            func_name = "markup_join"
        else:
            func_name = "str_join"
        self.write(f"{func_name}(environment.llmlab_concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write(")))")


def _guarded(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """A filter or test that checks the time, its widths and the size of what it returns."""
    skip = 0 if getattr(fn, "jinja_pass_arg", None) is None else 1  # context/environment first

    @functools.wraps(fn)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        tick()
        if name == "join" and len(args) > skip and not isinstance(args[skip], (str, list, tuple)):
            args = (*args[:skip], list(args[skip]), *args[skip + 1 :])  # to measure it first
        check_arguments(name, args[skip:], kwargs)
        return check_length(fn(*args, **kwargs), f"filter {name!r}")

    return guarded


class _LabLoader(jinja2.FileSystemLoader):
    """Templates from one folder, refusing a file that resolves outside the lab (a symlink)."""

    def __init__(self, folder: Path, root: Path) -> None:
        super().__init__(str(folder))
        self.root = root.resolve()

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        source, filename, uptodate = super().get_source(environment, template)
        if not inside(Path(filename), self.root):
            raise jinja2.exceptions.SecurityError(
                f"template {shown(template)} resolves outside the lab ({self.root})"
            )
        return source, filename, uptodate


def inside(path: Path, root: Path) -> bool:
    """True when ``path``, symlinks resolved, lies within ``root``."""
    return path.resolve().is_relative_to(root.resolve())


def make_environment(prompts_dir: Path, root: Path | None = None) -> LabSandbox:
    """A sandboxed environment: templates can't reach Python or files outside the lab.

    Args:
        prompts_dir: The folder templates and their includes are loaded from.
        root: The lab folder no template may resolve outside of (default: the folder's parent).
    """
    return LabSandbox(
        loader=_LabLoader(prompts_dir, root if root is not None else prompts_dir.parent),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
    )
