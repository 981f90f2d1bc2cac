"""The generation engine: concurrent, retried, accounted calls through litellm. No Dagster here."""

from __future__ import annotations

from ..secrets import read_secret, redact
from ._client import LiteLLMClient, LLMClient, ProviderError, classify
from ._local import PROVIDER as LOCAL_PROVIDER
from ._local import LocalModelError, register_local_provider
from ._plan import build_requests
from ._runner import Engine, Progress
from ._types import Completion, GenerationRequest, GenerationResult

__all__ = [
    "LOCAL_PROVIDER",
    "Completion",
    "Engine",
    "GenerationRequest",
    "GenerationResult",
    "LLMClient",
    "LiteLLMClient",
    "LocalModelError",
    "Progress",
    "ProviderError",
    "build_requests",
    "classify",
    "read_secret",
    "redact",
    "register_local_provider",
]
