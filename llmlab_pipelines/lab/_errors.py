"""The lab's error type and message helpers, defined in :mod:`llmlab_pipelines.issues`."""

from __future__ import annotations

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
]
