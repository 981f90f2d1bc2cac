"""One error type for everything wrong with a lab, carrying every problem at once.

It sits below every package (it imports none of them), so the lab format and the metrics a
lab's ``metrics/*.py`` defines can both raise it. No Dagster here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

MAX_ECHO = 80  # characters of a user's value repeated in an error message
MAX_MESSAGE = 2_000  # characters of one issue's message, whatever it echoes


def shorten(text: str, limit: int = MAX_ECHO) -> str:
    """``text`` when short, else its first ``limit`` characters and ``… (N chars)``."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text):,} chars)"


def shown(value: Any, limit: int = MAX_ECHO) -> str:
    """A user's value as an error message repeats it: its ``repr``, shortened when long."""
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:limit]!r}… ({len(value):,} chars)"
    return shorten(repr(value), limit)


def shown_names(names: Iterable[Any], most: int = 30) -> str:
    """``a, b, c``: each name shortened, at most ``most`` of them, then ``… (N more)``."""
    names = [str(n) for n in names]
    head = ", ".join(shorten(n) for n in names[:most])
    return head + (f", … ({len(names) - most:,} more)" if len(names) > most else "")


@dataclass(frozen=True)
class LabIssue:
    """One problem in a lab, located in a file.

    Args:
        file: Path of the offending file, relative to the lab's parent when possible.
        message: What is wrong, in the user's words.
        line: 1-based line number, when known.
        key: Dotted key path inside the file (``local.temperature``), when known.
    """

    file: str
    message: str
    line: int | None = None
    key: str | None = None

    def __post_init__(self) -> None:
        # the last guard: whatever a message echoes, one issue stays readable
        object.__setattr__(self, "message", shorten(str(self.message), MAX_MESSAGE))
        if self.key is not None:
            object.__setattr__(self, "key", shorten(str(self.key)))
        object.__setattr__(self, "file", shorten(str(self.file), 4 * MAX_ECHO))

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class LabError(ValueError):
    """A lab that cannot be used; ``issues`` lists every problem found, each with its file."""

    def __init__(self, issues: list[LabIssue]) -> None:
        self.issues = list(issues)
        n = len(self.issues)
        head = f"{n} problem{'s' if n != 1 else ''} in the lab:"
        super().__init__("\n".join([head, *(f"  - {issue}" for issue in self.issues)]))

    @classmethod
    def single(
        cls, file: str, message: str, *, line: int | None = None, key: str | None = None
    ) -> LabError:
        """Build an error holding one issue."""
        return cls([LabIssue(file=file, message=message, line=line, key=key)])


class IssueCollector:
    """Collects issues while a lab loads, so that every problem is reported, not only the first."""

    def __init__(self) -> None:
        self.issues: list[LabIssue] = []

    def add(
        self, file: str, message: str, *, line: int | None = None, key: str | None = None
    ) -> None:
        """Record one problem."""
        self.issues.append(LabIssue(file=file, message=message, line=line, key=key))

    def extend(self, error: LabError) -> None:
        """Record every problem of a LabError."""
        self.issues.extend(error.issues)

    def raise_if_any(self) -> None:
        """Raise a LabError holding everything collected, if anything was."""
        if self.issues:
            raise LabError(self.issues)
