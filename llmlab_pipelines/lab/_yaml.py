"""YAML loading that remembers the line of every key, so errors can point at it.

A lab's YAML is read with bounds, so that a small hostile file cannot exhaust memory or the
stack: its size, its nesting depth and the number of nodes it holds once every alias is
expanded (the "billion laughs" attack: nine anchors of nine aliases are 9**9 nodes). Numbers are
read as PyYAML's YAML 1.1 safe schema reads them, except the base-60 forms (``1:30`` is the text
"1:30", not 5400): one such scalar of a megabyte took half a minute of CPU to build.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from ._errors import LabError, shorten

KeyPath = tuple[str | int, ...]

MAX_YAML_BYTES = 1_000_000
MAX_YAML_NODES = 100_000  # counted with every alias expanded
MAX_YAML_DEPTH = 100


class _Refused(Exception):
    """A bound of the loader, hit at ``line``."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


# PyYAML's int and float patterns (resolver.py) without their base-60 alternatives
_INT = re.compile(
    r"""^(?:[-+]?0b[0-1_]+
    |[-+]?0[0-7_]+
    |[-+]?(?:0|[1-9][0-9_]*)
    |[-+]?0x[0-9a-fA-F_]+)$""",
    re.X,
)
_FLOAT = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
    |\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)
_NUMBERS = {"tag:yaml.org,2002:int": _INT, "tag:yaml.org,2002:float": _FLOAT}


def _without_base_60(resolvers: dict[Any, list[tuple[str, re.Pattern[str]]]]) -> dict[Any, Any]:
    """SafeLoader's implicit resolvers, its int and float patterns replaced by the above."""
    return {
        first: [(tag, _NUMBERS.get(tag, rx)) for tag, rx in pairs]
        for first, pairs in resolvers.items()
    }


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that counts nodes (aliases at their expanded size) and nesting depth, and does
    not read base-60 numbers (see the module's docstring)."""

    yaml_implicit_resolvers = _without_base_60(yaml.SafeLoader.yaml_implicit_resolvers)

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._nodes = 0
        self._depth = 0
        self._open: set[str] = set()  # anchors whose node is still being composed
        self._shapes: dict[int, tuple[int, int]] = {}  # id(node) -> (nodes, levels)

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        event = self.peek_event()
        line = event.start_mark.line + 1
        if isinstance(event, yaml.AliasEvent):
            if event.anchor in self._open:
                raise _Refused(f"alias *{event.anchor} refers to its own anchor", line)
            node = super().compose_node(parent, index)
            size, levels = self._shape(node)
            self._count(size, line)
            self._check_depth(self._depth + levels, line)
            return node
        self._count(1, line)
        self._depth += 1
        self._check_depth(self._depth, line)
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            self._open.add(anchor)
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1
            if anchor is not None:
                self._open.discard(anchor)

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, OverflowError) as exc:  # int('9' * 5000): Python's digit limit
            reason = str(exc).split(";")[0]  # not "use sys.set_int_max_str_digits() ..."
            raise _Refused(
                f"cannot read the value {shorten(str(node.value), 40)}: {reason}",
                node.start_mark.line + 1,
            ) from None

    def _check_depth(self, depth: int, line: int) -> None:
        if depth > MAX_YAML_DEPTH:
            raise _Refused(f"nested deeper than {MAX_YAML_DEPTH} levels", line)

    def _count(self, n: int, line: int) -> None:
        self._nodes += n
        if self._nodes > MAX_YAML_NODES:
            raise _Refused(
                f"more than {MAX_YAML_NODES:,} values once aliases are expanded "
                "(an alias bomb?); the limit is there to protect memory",
                line,
            )

    def _shape(self, node: yaml.Node) -> tuple[int, int]:
        """Nodes and levels under ``node`` with aliases expanded (each node measured once)."""
        known = self._shapes.get(id(node))
        if known is not None:
            return known
        if isinstance(node, yaml.MappingNode):
            children = [c for pair in node.value for c in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        else:
            children = []
        shapes = [self._shape(c) for c in children]
        shape = (1 + sum(s for s, _ in shapes), 1 + max((h for _, h in shapes), default=0))
        self._shapes[id(node)] = shape
        return shape


def load_yaml(path: Path, display: str) -> tuple[Any, dict[KeyPath, int]]:
    """Parse a YAML file and map every key path to its 1-based line.

    Args:
        path: The file to read.
        display: The name used in error messages.

    Returns:
        The parsed document and a mapping ``(key, subkey, ...) -> line``.

    Raises:
        LabError: when the file is not valid YAML or exceeds a bound, naming the line.
    """
    size = path.stat().st_size
    if size > MAX_YAML_BYTES:
        raise LabError.single(display, f"file is {size:,} bytes; the limit is {MAX_YAML_BYTES:,}")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LabError.single(
            display, f"not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None
    loader: _BoundedLoader | None = None
    try:
        loader = _BoundedLoader(text)  # refuses unprintable characters already
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except _Refused as exc:
        raise LabError.single(display, exc.message, line=exc.line) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise LabError.single(display, f"invalid YAML: {problem}", line=line) from None
    finally:
        if loader is not None:
            loader.dispose()
    lines: dict[KeyPath, int] = {}
    if node is not None:
        _walk(node, (), lines)
    return data, lines


def _walk(node: yaml.Node, path: KeyPath, lines: dict[KeyPath, int]) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = (*path, str(key_node.value))
            lines[key] = key_node.start_mark.line + 1
            _walk(value_node, key, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), lines)


def line_of(lines: dict[KeyPath, int], path: KeyPath) -> int | None:
    """The line of the longest prefix of ``path`` that the file has."""
    for end in range(len(path), -1, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return None


def dotted(path: KeyPath) -> str:
    """``('models', 1)`` -> ``models[1]``; ``('local', 'temperature')`` -> ``local.temperature``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
