"""The engine's client: litellm for every model, the fast path for OpenAI-compatible ones."""

from __future__ import annotations

from typing import Any

from ._client import LiteLLMClient
from ._openai import FastOpenAIClient
from ._types import Completion, GenerationRequest


class RoutingClient(LiteLLMClient):
    """litellm for every model, except those the fast path takes (unless ``fast_path`` is off).

    A :class:`LiteLLMClient` itself, so the engine keeps giving the in-process model its own
    deadline.
    """

    def __init__(self, models_dir: Any = None, *, fast_path: bool = True) -> None:
        super().__init__(models_dir)
        self.fast = FastOpenAIClient() if fast_path else None

    def takes_fast_path(self, request: GenerationRequest) -> bool:
        """Whether the request goes straight to its OpenAI-compatible endpoint."""
        return self.fast is not None and self.fast.prepare(request) is not None

    async def complete(self, request: GenerationRequest) -> Completion:
        """Call the model once, on the fast path when it can take the request."""
        fast = self.fast
        ready = fast.prepare(request) if fast is not None else None
        if fast is not None and ready is not None:
            return await fast.send(request, *ready)
        return await super().complete(request)
