"""YAML loading that remembers the line of every key, so errors can point at it.

A lab's YAML is read with bounds, so that a small hostile file cannot exhaust memory or the
stack: its size, its nesting depth and the number of nodes it holds once every alias is
expanded (the "billion laughs" attack: nine anchors of nine aliases are 9**9 nodes).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ._errors import LabError

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


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that counts nodes (aliases at their expanded size) and nesting depth."""

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
