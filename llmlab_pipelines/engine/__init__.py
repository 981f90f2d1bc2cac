"""The generation engine: concurrent, retried, accounted calls through litellm. No Dagster here."""

from __future__ import annotations

from ..secrets import read_secret, redact
from ._budget import Budget, CircuitBreaker, Usage
from ._cache import CacheMode, ResponseCache
from ._client import LiteLLMClient, LLMClient, ProviderError, classify
from ._estimate import Estimate, estimate_plan
from ._limits import AdaptiveGate, RedisWindowLimiter, SlidingWindowLimiter
from ._local import PROVIDER as LOCAL_PROVIDER
from ._local import LocalModelError, register_local_provider
from ._openai import FastOpenAIClient
from ._plan import build_requests
from ._progress import Progress
from ._routing import RoutingClient
from ._runner import Engine
from ._types import Completion, GenerationRequest, GenerationResult, result_columns

__all__ = [
    "LOCAL_PROVIDER",
    "AdaptiveGate",
    "Budget",
    "CacheMode",
    "CircuitBreaker",
    "Completion",
    "Engine",
    "Estimate",
    "FastOpenAIClient",
    "GenerationRequest",
    "GenerationResult",
    "LLMClient",
    "LiteLLMClient",
    "LocalModelError",
    "Progress",
    "ProviderError",
    "RedisWindowLimiter",
    "ResponseCache",
    "RoutingClient",
    "SlidingWindowLimiter",
    "Usage",
    "build_requests",
    "classify",
    "estimate_plan",
    "read_secret",
    "redact",
    "register_local_provider",
    "result_columns",
]
