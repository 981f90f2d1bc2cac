"""Prices from litellm's price map, looked up once per served model, then arithmetic."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Price:
    """Per-token prices of one (provider, served model), exact whenever ``linear`` (no tiers
    above some prompt length)."""

    provider: str | None
    model: str
    prompt: float
    cached: float
    completion: float
    linear: bool

    def cost(self, reply: dict[str, Any], usage: dict[str, Any]) -> float:
        """What a reply costs: arithmetic, or litellm's own sum for replies the per-token
        prices do not cover (tiers, audio or reasoning details, a paid service tier)."""
        if not self.linear or _beyond_linear(reply, usage):
            return litellm_cost(self.provider, self.model, usage, reply.get("service_tier"))
        details = usage.get("prompt_tokens_details")
        cached = int(details.get("cached_tokens") or 0) if isinstance(details, dict) else 0
        p_tok = int(usage.get("prompt_tokens") or 0) - cached
        c_tok = int(usage.get("completion_tokens") or 0)
        return p_tok * self.prompt + cached * self.cached + c_tok * self.completion


def _beyond_linear(data: dict[str, Any], usage: dict[str, Any]) -> bool:
    """Whether the reply has token details (audio, reasoning, cache writes) or a service tier
    that litellm prices differently from plain tokens."""
    if data.get("service_tier") not in (None, "default", "auto"):
        return True
    for field in ("prompt_tokens_details", "completion_tokens_details"):
        details = usage.get(field) or {}
        if isinstance(details, dict) and any(
            v for k, v in details.items() if k != "cached_tokens" and isinstance(v, int | float)
        ):
            return True
    return bool(usage.get("cache_creation_input_tokens"))


def litellm_cost(
    provider: str | None, model: str, usage: dict[str, Any], service_tier: Any = None
) -> float:
    """What ``litellm.completion_cost`` says a reply with this model and usage costs."""
    import litellm

    try:
        reply = litellm.ModelResponse(model=model, usage=litellm.Usage(**usage))
        if service_tier is not None:
            setattr(reply, "service_tier", service_tier)  # noqa: B010 (not a declared field)
        reply._hidden_params["custom_llm_provider"] = provider
        return float(litellm.completion_cost(completion_response=reply) or 0.0)
    except Exception:  # a model missing from the price map costs what models.yaml says: 0
        return 0.0


@functools.lru_cache(maxsize=1024)  # served model names: a handful per run
def price_of(provider: str | None, model: str) -> Price | None:
    """The per-token prices of a served model, from litellm's price map (None: unpriced), and
    whether they hold at any size (no tiers above some prompt length); once per process."""
    unit = 1000

    def cost(p: int, c: int, cached: int = 0) -> float:
        details = {"cached_tokens": cached} if cached else None
        usage = {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}
        return litellm_cost(provider, model, {**usage, "prompt_tokens_details": details})

    prompt, completion = cost(unit, 0) / unit, cost(0, unit) / unit
    if prompt == 0 and completion == 0:
        return None
    cached = cost(unit, 0, unit) / unit
    big = 10**6
    linear = math.isclose(cost(big, 0), prompt * big, rel_tol=1e-9) and math.isclose(
        cost(0, big), completion * big, rel_tol=1e-9
    )
    return Price(provider, model, prompt, cached, completion, linear)
