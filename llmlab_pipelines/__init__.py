"""LLM Lab Pipelines: evaluate prompts and models as partitioned Dagster assets."""

from __future__ import annotations

import os

# No process of ours may fetch litellm's remote price map: machines here are offline, and
# without this `mlflow server` (which imports litellm) deadlocks at start-up.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

__version__ = "0.1.0"
