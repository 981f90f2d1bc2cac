"""The lab's error type and message helpers (most defined in :mod:`llmlab_pipelines.issues`)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from ..issues import (
    MAX_ECHO,
    MAX_MESSAGE,
    IssueCollector,
    LabError,
    LabIssue,
    shorten,
    shown,
    shown_names,
)

__all__ = [
    "MAX_ECHO",
    "MAX_MESSAGE",
    "IssueCollector",
    "LabError",
    "LabIssue",
    "shorten",
    "shown",
    "shown_names",
    "unknown",
]


def unknown(kind: str, name: str, known: Iterable[str]) -> str:
    """``unknown model 'gtp-4o' (did you mean 'gpt-4o'? known: gpt-4o, local)``."""
    names = sorted(known)
    close = difflib.get_close_matches(name, names, n=1)
    hint = f"did you mean {shown(close[0])}? " if close else ""
    return f"unknown {kind} {shown(name)} ({hint}known: {shown_names(names) or 'none'})"
