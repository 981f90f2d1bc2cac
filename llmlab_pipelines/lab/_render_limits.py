"""The bounds of one template render: time, rendered size, and what one operation may allocate.

Each bound is checked *before* the operation allocates (see :mod:`._sandbox` for where the
sandbox calls these checks). A render runs inside :func:`render_budget`, which sets the
deadline and the running total of what the render has allocated.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import jinja2
from jinja2.utils import Namespace, generate_lorem_ipsum

from ._errors import shorten, shown

MAX_RENDERED_CHARS = 10_000_000  # ~2.5M tokens: more than any model's context
MAX_ALLOCATED_CHARS = 5 * MAX_RENDERED_CHARS  # all the sized operations of one render together
RENDER_SECONDS = 2.0  # per item; a real prompt renders in well under a millisecond
MAX_RANGE = 10_000
MAX_WIDTH = 10_000  # format widths and precisions, center/indent/wordwrap widths ...
MAX_LIPSUM_PARAGRAPHS = 100
MAX_INT_BITS = 100_000
_WIDENING_FILTERS = frozenset({"batch", "center", "indent", "slice", "tojson", "wordwrap"})
_PADDING_METHODS = frozenset({"center", "ljust", "rjust", "zfill"})
_ESCAPED = {"&": 4, "<": 3, ">": 3, '"': 4, "'": 4}  # extra characters per escaped character
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0 +-]*(\*|\d*)(?:\.(\*|\d*))?")


class RenderLimit(jinja2.exceptions.SecurityError):
    """A render that went over one of the sandbox's bounds."""


@dataclass
class RenderBudget:
    """What the current render may still spend: its deadline, and what it has used so far."""

    deadline: float
    steps: int = 0
    allocated: int = 0  # characters (or items) made by the sized operations so far


_BUDGET: ContextVar[RenderBudget | None] = ContextVar("llmlab_render_budget", default=None)


@contextmanager
def render_budget() -> Iterator[None]:
    """Run one render (of one item) within ``RENDER_SECONDS`` and ``MAX_ALLOCATED_CHARS``."""
    token = _BUDGET.set(RenderBudget(time.monotonic() + RENDER_SECONDS))
    try:
        yield
    finally:
        _BUDGET.reset(token)


def current_budget() -> RenderBudget | None:
    """The budget of the render under way, if any."""
    return _BUDGET.get()


def tick() -> None:
    """Refuse to go on once the current render has used its time."""
    budget = _BUDGET.get()
    if budget is not None and time.monotonic() > budget.deadline:
        raise RenderLimit(
            f"still rendering after {RENDER_SECONDS:g} s (the limit per item): "
            "a loop or recursion too large for a prompt?"
        )


def bounded_range(*args: int) -> range:
    """``range`` for templates: at most ``MAX_RANGE`` numbers."""
    rng = range(*args)
    if len(rng) > MAX_RANGE:
        raise RenderLimit(f"range of {len(rng):,} numbers; the limit is {MAX_RANGE:,}")
    return rng


def bounded_lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:
    """``lipsum`` for templates: a bounded number of paragraphs and words."""
    if n > MAX_LIPSUM_PARAGRAPHS or max > MAX_WIDTH or min > MAX_WIDTH:
        raise RenderLimit(
            f"lipsum(n={shown(n)}, min={shown(min)}, max={shown(max)}): at most "
            f"{MAX_LIPSUM_PARAGRAPHS} paragraphs of at most {MAX_WIDTH:,} words"
        )
    return str(generate_lorem_ipsum(n=n, html=html, min=min, max=max))


def check_width(value: Any, what: str) -> None:
    """Refuse a width (a number, or a padding string) over ``MAX_WIDTH``."""
    if isinstance(value, int) and abs(value) > MAX_WIDTH:
        raise RenderLimit(f"{what} {value:,} is too wide; the limit is {MAX_WIDTH:,}")
    if isinstance(value, str) and len(value) > MAX_WIDTH:
        raise RenderLimit(f"{what} of {len(value):,} characters; the limit is {MAX_WIDTH:,}")


def check_format_spec(spec: str) -> None:
    """``'>1000000000'`` in ``'{0:>1000000000}'.format(x)``: refuse huge widths/precisions."""
    for digits in re.findall(r"\d+", spec):
        if len(digits) > 6 or int(digits) > MAX_WIDTH:
            raise RenderLimit(
                f"format width {shorten(digits)} is too wide; the limit is {MAX_WIDTH:,}"
            )


def check_percent_format(fmt: str) -> None:
    """``'%1000000000s' % x``: refuse huge widths, and widths taken from an argument (``*``)."""
    for width, precision in _PERCENT_SPEC.findall(fmt):
        for part in (width, precision):
            if part == "*":
                raise RenderLimit("'%*' formats take their width from an argument; write it out")
            if part:
                check_format_spec(part)


def check_count(n: int, what: str) -> None:
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


def text_size(value: Any, limit: int = MAX_RENDERED_CHARS) -> int:
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
        size = 4 * len(item) + 2 if isinstance(item, str) else text_size(item, limit - total)
        total += size + 2
        if total > limit:
            break
    return total


def check_text(values: Iterable[Any], what: str, extra: int = 0) -> None:
    """Refuse making the text of ``values`` (plus ``extra`` characters) if it is too long."""
    total = extra
    for value in values:
        total += text_size(value)
        if total > MAX_RENDERED_CHARS:
            raise RenderLimit(
                f"{what} makes over {MAX_RENDERED_CHARS:,} characters; "
                f"the limit is {MAX_RENDERED_CHARS:,}"
            )
    check_count(total, what)


def check_length(value: Any, what: str) -> Any:
    """``value``, once its length is counted against the render's bounds."""
    if isinstance(value, (str, list, tuple)):
        check_count(len(value), what)
    return value


def check_output(value: Any) -> Any:
    """Every ``{{ value }}``: refuse one whose text would be too long before making it."""
    if not isinstance(value, str):
        check_count(text_size(value), "the output of one '{{ }}'")
    return value


def check_str_method(text: str, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Refuse a ``str`` method call whose result would be too large, before making it."""
    what = f"str.{name}()"
    first = args[0] if args else next(iter(kwargs.values()), None)
    if name in _PADDING_METHODS and isinstance(first, int):
        check_width(first, f"{what} width")
    elif name == "expandtabs":
        tabsize = first if isinstance(first, int) else 8
        check_count(len(text) + text.count("\t") * max(tabsize, 0), what)
    elif name == "replace" and len(args) >= 2 and isinstance(args[1], str):
        old, new = args[0], args[1]
        count = args[2] if len(args) > 2 else kwargs.get("count", -1)
        check_count(_replaced_size(text, old, new, count), what)
    elif name == "join" and isinstance(first, (list, tuple)):
        check_text(first, what, len(text) * max(len(first) - 1, 0))
    elif name == "translate" and isinstance(first, Mapping):
        widest = max((len(v) for v in first.values() if isinstance(v, str)), default=1)
        check_count(len(text) * max(widest, 1), what)


def check_binop(operator: str, left: Any, right: Any) -> None:
    """Refuse ``*``, ``**``, ``%`` or ``+`` when its result would be too large."""
    if operator == "*":
        for seq, n in ((left, right), (right, left)):
            if isinstance(seq, (str, list, tuple)) and isinstance(n, int):
                check_count(len(seq) * n, "repetition")
        if isinstance(left, int) and isinstance(right, int):
            check_bits(abs(left).bit_length() + abs(right).bit_length())
    elif operator == "**" and isinstance(left, int) and isinstance(right, int):
        check_bits(abs(left).bit_length() * max(right, 0))
    elif operator == "%" and isinstance(left, str):
        check_percent_format(left)
        fields = len(_PERCENT_SPEC.findall(left))
        values = (
            right.values()
            if isinstance(right, Mapping)
            else right
            if isinstance(right, tuple)
            else (right,)
        )
        largest = max((text_size(v) for v in values), default=0)
        check_count(len(left) + fields * largest, "'%' formatting")
    elif operator == "+" and (
        (isinstance(left, str) and isinstance(right, str))
        or (isinstance(left, (list, tuple)) and isinstance(right, (list, tuple)))
    ):
        check_count(len(left) + len(right), "'+' concatenation")


def _replaced_size(text: str, old: Any, new: str, count: Any = -1) -> int:
    if not isinstance(old, str):
        return len(text)
    times = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        times = min(times, count)
    return len(text) + max(len(new) - len(old), 0) * times


def check_bits(bits: int) -> None:
    """Refuse making an integer of more than ``MAX_INT_BITS`` bits."""
    if bits > MAX_INT_BITS:
        raise RenderLimit(f"a number of ~{bits:,} bits; the limit is {MAX_INT_BITS:,}")


def check_arguments(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Refuse the arguments that would make one filter call allocate something huge."""
    if name in _WIDENING_FILTERS:
        for value in [*args[1:], *kwargs.values()]:
            if not isinstance(value, bool):
                check_width(value, f"{name}() argument")
    elif name == "format" and args and isinstance(args[0], str):
        check_percent_format(args[0])
    elif name == "replace" and len(args) >= 3 and all(isinstance(a, str) for a in args[:3]):
        text, old, new = args[:3]
        count = args[3] if len(args) > 3 else kwargs.get("count")
        check_count(_replaced_size(text, old, new, -1 if count is None else count), "replace()")
    elif name == "join" and args and isinstance(args[0], (list, tuple)):
        sep = args[1] if len(args) > 1 else kwargs.get("d", "")
        if isinstance(sep, str) and "attribute" not in kwargs and len(args) < 3:
            check_text(args[0], "filter 'join'", len(sep) * max(len(args[0]) - 1, 0))
    elif name in ("escape", "e", "forceescape") and args and isinstance(args[0], str):
        text = args[0]
        check_count(len(text) + sum(n * text.count(c) for c, n in _ESCAPED.items()), name)
    elif name == "urlencode" and args:
        per_char = 3 if isinstance(args[0], str) and args[0].isascii() else 12
        check_count(per_char * text_size(args[0]), "urlencode")
    if name == "indent" and args and isinstance(args[0], str):
        width = args[1] if len(args) > 1 else kwargs.get("width", 4)
        pad = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
        check_count(len(args[0]) + pad * (args[0].count("\n") + 1), "indent")
    elif name == "wordwrap" and args and isinstance(args[0], str):
        text, width = args[0], args[1] if len(args) > 1 else kwargs.get("width", 79)
        wrap = args[3] if len(args) > 3 else kwargs.get("wrapstring") or "\n"
        if isinstance(width, int) and isinstance(wrap, str):
            lines = min(len(text), 2 * len(text) // max(width, 1) + text.count("\n")) + 1
            check_count(len(text) + len(wrap) * lines, "wordwrap")
