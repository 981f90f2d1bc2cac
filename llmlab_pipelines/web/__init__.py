"""Serving web UIs safely: the guard (Host, Origin, GraphQL over GET, token), ``llmlab ui``
and ``llmlab view`` (the results explorer)."""

from __future__ import annotations

from ._dagster import serve_dagster_ui
from ._guard import Guard, GuardConfig, is_loopback, pure_query
from ._view_app import ViewerConfig, create_app, open_catalog, serve_viewer
from ._view_catalog import Catalog

__all__ = [
    "Catalog",
    "Guard",
    "GuardConfig",
    "ViewerConfig",
    "create_app",
    "is_loopback",
    "open_catalog",
    "pure_query",
    "serve_dagster_ui",
    "serve_viewer",
]
