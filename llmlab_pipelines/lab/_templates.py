"""Prompt templates: sandboxed Jinja, content-hashed versions, strict variables.

The sandbox keeps templates away from Python and from files outside the lab, and bounds what
one render may cost: time (``RENDER_SECONDS`` per item, checked at every loop step, call and
filter), the rendered size (``MAX_RENDERED_CHARS``) and the operations that allocate a large
string in one step (``range``, ``lipsum``, format widths, ``*``, ``**``, ``+``, ``~``, ``%``,
``str`` methods such as ``ljust`` or ``join``, widening filters), each checked *before* it
allocates; all of them together may make at most ``MAX_ALLOCATED_CHARS`` per render.
"""

from __future__ import annotations

import functools
import hashlib
import re
import string
import time
import types
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import meta, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedFormatter
from jinja2.utils import Namespace, generate_lorem_ipsum
from markupsafe import EscapeFormatter, Markup

from ._errors import LabError, shorten, shown

MAX_TEMPLATE_BYTES = 1_000_000
MAX_RENDERED_CHARS = 10_000_000  # ~2.5M tokens: more than any model's context
MAX_ALLOCATED_CHARS = 5 * MAX_RENDERED_CHARS  # all the sized operations of one render together
RENDER_SECONDS = 2.0  # per item; a real prompt renders in well under a millisecond
MAX_RANGE = 10_000
MAX_WIDTH = 10_000  # format widths and precisions, center/indent/wordwrap widths ...
MAX_LIPSUM_PARAGRAPHS = 100
MAX_INT_BITS = 100_000
BUILTIN_VARIABLES = frozenset({"item", "loop", "range", "namespace", "dict", "lipsum", "cycler"})
_WIDENING_FILTERS = frozenset({"batch", "center", "indent", "slice", "tojson", "wordwrap"})
_PADDING_METHODS = frozenset({"center", "ljust", "rjust", "zfill"})
_ESCAPED = {"&": 4, "<": 3, ">": 3, '"': 4, "'": 4}  # extra characters per escaped character
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0 +-]*(\*|\d*)(?:\.(\*|\d*))?")


class TemplateRenderError(LabError):
    """A template that cannot be rendered for one dataset record."""


class RenderLimit(jinja2.exceptions.SecurityError):
    """A render that went over one of the sandbox's bounds."""


@dataclass
class _Budget:
    deadline: float
    steps: int = 0
    allocated: int = 0  # characters (or items) made by the sized operations so far


_BUDGET: ContextVar[_Budget | None] = ContextVar("llmlab_render_budget", default=None)


def _tick() -> None:
    """Refuse to go on once the current render has used its time."""
    budget = _BUDGET.get()
    if budget is not None and time.monotonic() > budget.deadline:
        raise RenderLimit(
            f"still rendering after {RENDER_SECONDS:g} s (the limit per item): "
            "a loop or recursion too large for a prompt?"
        )


def _bounded_range(*args: int) -> range:
    rng = range(*args)
    if len(rng) > MAX_RANGE:
        raise RenderLimit(f"range of {len(rng):,} numbers; the limit is {MAX_RANGE:,}")
    return rng


def _bounded_lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:
    if n > MAX_LIPSUM_PARAGRAPHS or max > MAX_WIDTH or min > MAX_WIDTH:
        raise RenderLimit(
            f"lipsum(n={shown(n)}, min={shown(min)}, max={shown(max)}): at most "
            f"{MAX_LIPSUM_PARAGRAPHS} paragraphs of at most {MAX_WIDTH:,} words"
        )
    return str(generate_lorem_ipsum(n=n, html=html, min=min, max=max))


def _check_width(value: Any, what: str) -> None:
    if isinstance(value, int) and abs(value) > MAX_WIDTH:
        raise RenderLimit(f"{what} {value:,} is too wide; the limit is {MAX_WIDTH:,}")
    if isinstance(value, str) and len(value) > MAX_WIDTH:
        raise RenderLimit(f"{what} of {len(value):,} characters; the limit is {MAX_WIDTH:,}")


def _check_format_spec(spec: str) -> None:
    """``'>1000000000'`` in ``'{0:>1000000000}'.format(x)``: refuse huge widths/precisions."""
    for digits in re.findall(r"\d+", spec):
        if len(digits) > 6 or int(digits) > MAX_WIDTH:
            raise RenderLimit(
                f"format width {shorten(digits)} is too wide; the limit is {MAX_WIDTH:,}"
            )


def _check_percent_format(fmt: str) -> None:
    """``'%1000000000s' % x``: refuse huge widths, and widths taken from an argument (``*``)."""
    for width, precision in _PERCENT_SPEC.findall(fmt):
        for part in (width, precision):
            if part == "*":
                raise RenderLimit("'%*' formats take their width from an argument; write it out")
            if part:
                _check_format_spec(part)


def _check_count(n: int, what: str) -> None:
    """Refuse one operation making ``n`` characters or items, or the render's total passing
    ``MAX_ALLOCATED_CHARS`` (many operations of just under the limit each)."""
    if n > MAX_RENDERED_CHARS:
        raise RenderLimit(
            f"{what} makes {n:,} characters or items; the limit is {MAX_RENDERED_CHARS:,}"
        )
    budget = _BUDGET.get()
    if budget is not None:
        budget.allocated += n
        if budget.allocated > MAX_ALLOCATED_CHARS:
            raise RenderLimit(
                f"{what}: the render has made {budget.allocated:,} characters or items in all; "
                f"the limit is {MAX_ALLOCATED_CHARS:,}"
            )


def _text_size(value: Any, limit: int = MAX_RENDERED_CHARS) -> int:
    """An upper estimate of ``len(str(value))``, counted no further than just past ``limit``."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, (int, float, bool)) or value is None:
        return 32 if not isinstance(value, int) else value.bit_length() // 3 + 2
    if isinstance(value, Namespace):
        value = object.__getattribute__(value, "_Namespace__attrs")
    if isinstance(value, Mapping):
        items: Iterable[Any] = (x for pair in value.items() for x in pair)
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = value
    else:
        return 64  # a macro, a cycler, undefined ...: a short fixed text
    total = 16
    for item in items:
        # inside a container a string shows as its repr: quotes, and escapes of <= 4 characters
        size = 4 * len(item) + 2 if isinstance(item, str) else _text_size(item, limit - total)
        total += size + 2
        if total > limit:
            break
    return total


def _check_text(values: Iterable[Any], what: str, extra: int = 0) -> None:
    """Refuse making the text of ``values`` (plus ``extra`` characters) if it is too long."""
    total = extra
    for value in values:
        total += _text_size(value)
        if total > MAX_RENDERED_CHARS:
            raise RenderLimit(
                f"{what} makes over {MAX_RENDERED_CHARS:,} characters; "
                f"the limit is {MAX_RENDERED_CHARS:,}"
            )
    _check_count(total, what)


def _check_length(value: Any, what: str) -> Any:
    if isinstance(value, (str, list, tuple)):
        _check_count(len(value), what)
    return value


class _WidthLimit(string.Formatter):
    """Bounded widths, and a result refused before it passes the limit (``'{0}{0}{0}'``)."""

    _made = 0

    def vformat(self, format_string: str, args: Any, kwargs: Any) -> str:
        self._made = len(format_string)
        return super().vformat(format_string, args, kwargs)

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        if conversion is not None:
            self._add(_text_size(value))
        return super().convert_field(value, conversion)

    def format_field(self, value: Any, format_spec: str) -> Any:
        _check_format_spec(format_spec)
        self._add(_text_size(value))
        return super().format_field(value, format_spec)

    def _add(self, n: int) -> None:
        self._made += n
        if self._made > MAX_RENDERED_CHARS:
            _check_count(self._made, "str.format()")


class _BoundedFormatter(_WidthLimit, SandboxedFormatter):
    pass


class _BoundedEscapeFormatter(_WidthLimit, SandboxedFormatter, EscapeFormatter):
    pass


class LabSandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox with bounds on time and size (see the module's docstring)."""

    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("finalize", _check_output)
        super().__init__(*args, **kwargs)
        self.code_generator_class = _LabCodeGenerator
        self.globals["range"] = _bounded_range
        self.globals["lipsum"] = _bounded_lipsum
        self.filters = {name: _guarded(name, fn) for name, fn in self.filters.items()}
        self.tests = {name: _guarded(name, fn) for name, fn in self.tests.items()}

    def call(self, context: Any, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        """Every call from a template (functions, macros, methods) checks the time; a ``str``
        method that makes a string (``ljust``, ``replace``, ``join`` ...) checks its size first."""
        _tick()
        target = getattr(obj, "__self__", None)
        if isinstance(target, str) and isinstance(obj, (types.BuiltinMethodType, types.MethodType)):
            name = obj.__name__
            if name == "join" and args and not isinstance(args[0], (str, list, tuple)):
                args = (list(self.llmlab_loop(args[0])), *args[1:])
            _check_str_method(target, name, args, kwargs)
            return _check_length(super().call(context, obj, *args, **kwargs), f"str.{name}()")
        return super().call(context, obj, *args, **kwargs)

    def llmlab_concat(self, values: tuple[Any, ...]) -> tuple[Any, ...]:
        """What ``a ~ b`` joins, refused first if the text would be too long."""
        _tick()
        _check_text(values, "'~' concatenation")
        return values

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        """``*``, ``**`` and ``%``, refused before they allocate something huge."""
        _tick()
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(n, int):
                    _check_count(len(seq) * n, "repetition")
            if isinstance(left, int) and isinstance(right, int):
                _check_bits(abs(left).bit_length() + abs(right).bit_length())
        elif operator == "**" and isinstance(left, int) and isinstance(right, int):
            _check_bits(abs(left).bit_length() * max(right, 0))
        elif operator == "%" and isinstance(left, str):
            _check_percent_format(left)
            fields = len(_PERCENT_SPEC.findall(left))
            values = (
                right.values()
                if isinstance(right, Mapping)
                else right
                if isinstance(right, tuple)
                else (right,)
            )
            largest = max((_text_size(v) for v in values), default=0)
            _check_count(len(left) + fields * largest, "'%' formatting")
        elif operator == "+" and (
            (isinstance(left, str) and isinstance(right, str))
            or (isinstance(left, (list, tuple)) and isinstance(right, (list, tuple)))
        ):
            _check_count(len(left) + len(right), "'+' concatenation")
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
        budget = _BUDGET.get()
        for value in iterable:
            if budget is not None:
                budget.steps += 1
                if budget.steps % 256 == 0:
                    _tick()
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


def _check_output(value: Any) -> Any:
    """Every ``{{ value }}``: refuse one whose text would be too long before making it."""
    if not isinstance(value, str):
        _check_count(_text_size(value), "the output of one '{{ }}'")
    return value


def _check_str_method(text: str, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Refuse a ``str`` method call whose result would be too large, before making it."""
    what = f"str.{name}()"
    first = args[0] if args else next(iter(kwargs.values()), None)
    if name in _PADDING_METHODS and isinstance(first, int):
        _check_width(first, f"{what} width")
    elif name == "expandtabs":
        tabsize = first if isinstance(first, int) else 8
        _check_count(len(text) + text.count("\t") * max(tabsize, 0), what)
    elif name == "replace" and len(args) >= 2 and isinstance(args[1], str):
        old, new = args[0], args[1]
        count = args[2] if len(args) > 2 else kwargs.get("count", -1)
        _check_count(_replaced_size(text, old, new, count), what)
    elif name == "join" and isinstance(first, (list, tuple)):
        _check_text(first, what, len(text) * max(len(first) - 1, 0))
    elif name == "translate" and isinstance(first, Mapping):
        widest = max((len(v) for v in first.values() if isinstance(v, str)), default=1)
        _check_count(len(text) * max(widest, 1), what)


def _replaced_size(text: str, old: Any, new: str, count: Any = -1) -> int:
    if not isinstance(old, str):
        return len(text)
    times = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        times = min(times, count)
    return len(text) + max(len(new) - len(old), 0) * times


def _check_bits(bits: int) -> None:
    if bits > MAX_INT_BITS:
        raise RenderLimit(f"a number of ~{bits:,} bits; the limit is {MAX_INT_BITS:,}")


def _guarded(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """A filter or test that checks the time, its widths and the size of what it returns."""
    skip = 0 if getattr(fn, "jinja_pass_arg", None) is None else 1  # context/environment first

    @functools.wraps(fn)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        _tick()
        if name == "join" and len(args) > skip and not isinstance(args[skip], (str, list, tuple)):
            args = (*args[:skip], list(args[skip]), *args[skip + 1 :])  # to measure it first
        _check_arguments(name, args[skip:], kwargs)
        return _check_length(fn(*args, **kwargs), f"filter {name!r}")

    return guarded


def _check_arguments(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Refuse the arguments that would make one filter call allocate something huge."""
    if name in _WIDENING_FILTERS:
        for value in [*args[1:], *kwargs.values()]:
            if not isinstance(value, bool):
                _check_width(value, f"{name}() argument")
    elif name == "format" and args and isinstance(args[0], str):
        _check_percent_format(args[0])
    elif name == "replace" and len(args) >= 3 and all(isinstance(a, str) for a in args[:3]):
        count = args[3] if len(args) > 3 else kwargs.get("count")
        _check_count(_replaced_size(*args[:3], -1 if count is None else count), "replace()")
    elif name == "join" and args and isinstance(args[0], (list, tuple)):
        sep = args[1] if len(args) > 1 else kwargs.get("d", "")
        if isinstance(sep, str) and "attribute" not in kwargs and len(args) < 3:
            _check_text(args[0], "filter 'join'", len(sep) * max(len(args[0]) - 1, 0))
    elif name in ("escape", "e", "forceescape") and args and isinstance(args[0], str):
        text = args[0]
        _check_count(len(text) + sum(n * text.count(c) for c, n in _ESCAPED.items()), name)
    elif name == "urlencode" and args:
        per_char = 3 if isinstance(args[0], str) and args[0].isascii() else 12
        _check_count(per_char * _text_size(args[0]), "urlencode")
    if name == "indent" and args and isinstance(args[0], str):
        width = args[1] if len(args) > 1 else kwargs.get("width", 4)
        pad = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
        _check_count(len(args[0]) + pad * (args[0].count("\n") + 1), "indent")
    elif name == "wordwrap" and args and isinstance(args[0], str):
        text, width = args[0], args[1] if len(args) > 1 else kwargs.get("width", 79)
        wrap = args[3] if len(args) > 3 else kwargs.get("wrapstring") or "\n"
        if isinstance(width, int) and isinstance(wrap, str):
            lines = min(len(text), 2 * len(text) // max(width, 1) + text.count("\n")) + 1
            _check_count(len(text) + len(wrap) * lines, "wordwrap")


class _LabLoader(jinja2.FileSystemLoader):
    """Templates from one folder, refusing a file that resolves outside the lab (a symlink)."""

    def __init__(self, folder: Path, root: Path) -> None:
        super().__init__(str(folder))
        self.root = root.resolve()

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        source, filename, uptodate = super().get_source(environment, template)
        if filename is not None and not inside(Path(filename), self.root):
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
        token = _BUDGET.set(_Budget(time.monotonic() + RENDER_SECONDS))
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
        finally:
            _BUDGET.reset(token)

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
        _tick()
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
