"""Run tags: their names, declared once, and the tags a generations run carries. No Dagster here.

The names are the contract between whoever starts a run (``llmlab run``, a sensor, a schedule,
the UI) and whoever reads it back (the LLM resource's budget, the failure summary, the run
queue's ``tag_concurrency_limits`` in ``dagster.yaml``).
"""

from __future__ import annotations

from .lab import Lab

#: Who started the run: ``cli`` for ``llmlab run``/``gate``/``optimize``.
SOURCE = "llmlab/source"
#: The experiment(s) the run serves, comma-separated.
EXPERIMENT = "llmlab/experiment"
#: One id shared by every run of one ``llmlab run``; an experiment's ``budget_usd`` holds for
#: one invocation. A run without it (launched from the UI or a sensor) is its own invocation.
INVOCATION = "llmlab/invocation"
#: The provider and model a generations run calls (the run queue limits runs per provider).
PROVIDER = "llmlab/provider"
MODEL = "llmlab/model"
#: What kind of work a job does (generation, nightly, adaptive, optimize).
KIND = "llmlab/kind"
#: What triggered a run (nightly, scores: the analysis sensor) and the cache mode it asks for.
TRIGGER = "llmlab/trigger"
CACHE = "llmlab/cache"
#: The optimization round a follow-up run continues.
PREVIOUS_RUN = "llmlab/previous_run"
#: The lab commit a sensor-started run evaluates (written by :meth:`vcs.Commit.tags`).
GIT_SHA = "llmlab/git_sha"
GIT_MESSAGE = "llmlab/git_message"


def run_tags(lab: Lab, model_name: str) -> dict[str, str]:
    """Tags of a generations run: the provider, for the run queue's per-provider limits."""
    return {
        PROVIDER: provider_of(lab.models[model_name].model),
        MODEL: model_name,
    }


def provider_of(model: str) -> str:
    """``openai/gpt-4o-mini`` -> ``openai``; a bare model name -> ``openai`` (litellm's default)."""
    return model.split("/", 1)[0] if "/" in model else "openai"
