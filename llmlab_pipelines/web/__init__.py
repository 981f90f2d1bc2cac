"""Serving web UIs safely: the guard (Host, Origin, GraphQL over GET, token) and ``llmlab ui``."""

from __future__ import annotations

from ._dagster import serve_dagster_ui
from ._guard import Guard, GuardConfig, is_loopback, pure_query

__all__ = ["Guard", "GuardConfig", "is_loopback", "pure_query", "serve_dagster_ui"]
