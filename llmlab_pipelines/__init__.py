"""LLM Lab Pipelines: evaluate prompts and models as partitioned Dagster assets."""

from __future__ import annotations

__version__ = "0.1.0"
