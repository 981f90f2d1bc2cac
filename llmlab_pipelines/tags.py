"""Run tags a generations run carries, shared by the runner and the git sensor. No Dagster here."""

from __future__ import annotations

from .lab import Lab


def run_tags(lab: Lab, model_name: str) -> dict[str, str]:
    """Tags of a generations run: the provider, for the run queue's per-provider limits."""
    return {
        "llmlab/provider": provider_of(lab.models[model_name].model),
        "llmlab/model": model_name,
    }


def provider_of(model: str) -> str:
    """``openai/gpt-4o-mini`` -> ``openai``; a bare model name -> ``openai`` (litellm's default)."""
    return model.split("/", 1)[0] if "/" in model else "openai"
