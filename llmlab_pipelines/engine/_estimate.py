"""``llmlab run --dry-run``: calls, tokens and cost per candidate, before spending anything."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..lab import Lab, ModelConfig
from ._cache import ResponseCache
from ._plan import build_requests

#: Characters per token for the estimate (English prose with BPE tokenizers: about 4).
CHARS_PER_TOKEN = 4


@dataclass(frozen=True)
class Estimate:
    """What one candidate x dataset partition would cost."""

    candidate: str
    dataset: str
    calls: int
    cached: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float

    @property
    def to_call(self) -> int:
        """Calls the cache cannot answer."""
        return self.calls - self.cached


def price(config: ModelConfig, prompt_tokens: int, completion_tokens: int) -> float:
    """Cost by models.yaml overrides, else litellm's price map, else 0 (unknown/local)."""
    if config.input_cost_per_token is not None or config.output_cost_per_token is not None:
        return prompt_tokens * (config.input_cost_per_token or 0.0) + completion_tokens * (
            config.output_cost_per_token or 0.0
        )
    try:
        from ._litellm import before_importing_litellm

        before_importing_litellm()
        import litellm

        cost_in, cost_out = litellm.cost_per_token(
            model=config.model, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens
        )
        return float(cost_in + cost_out)
    except Exception:  # not in the price map
        return 0.0


def estimate_plan(
    lab: Lab,
    *,
    experiments: Iterable[str] | None = None,
    limit: int | None = None,
    cache: ResponseCache | None = None,
) -> list[Estimate]:
    """One estimate per partition; uncached calls only are priced (completions at max_tokens).

    Args:
        lab: The lab.
        experiments: Only these (default: all).
        limit: At most this many items per dataset.
        cache: Count calls this cache already answers as free.
    """
    out = []
    for plan in lab.plans(list(experiments) if experiments else None):
        records = lab.datasets[plan.dataset].records
        requests = build_requests(lab, plan, records, limit=limit)
        hits = cache.load({r.cache_key for r in requests}) if cache is not None else {}
        todo = [r for r in requests if r.cache_key not in hits]
        prompt = sum(len(r.prompt) // CHARS_PER_TOKEN + 1 for r in todo)
        completion = sum(int(r.params.max_tokens or 256) for r in todo)
        config = lab.models[plan.candidate.model]
        out.append(
            Estimate(
                plan.candidate.label,
                plan.dataset,
                len(requests),
                len(requests) - len(todo),
                prompt,
                completion,
                price(config, prompt, completion),
            )
        )
    return out
