"""The rows the engine returns: a completed call, a failure, a cached answer, a shared one."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from ..secrets import redact
from ._client import ProviderError
from ._types import Completion, GenerationRequest, GenerationResult


def completed_result(
    request: GenerationRequest,
    completion: Completion,
    text: str,
    cut: bool,
    start: float,
    attempts: int,
    capped: float,
) -> GenerationResult:
    """The row of a call that answered.

    Args:
        request: The request.
        completion: What the provider answered.
        text: The reply as kept (cut to the engine's ``max_output_chars``).
        cut: Whether the reply was cut.
        start: ``time.perf_counter()`` when the request's first attempt began.
        attempts: Provider calls made for the request (fallbacks included).
        capped: The longest Retry-After asked beyond the cap (0: none).
    """
    return GenerationResult(
        item_id=request.item_id,
        repeat=request.repeat,
        output=text,
        prompt_tokens=completion.prompt_tokens,
        completion_tokens=completion.completion_tokens,
        cost_usd=completion.cost_usd,
        latency_s=time.perf_counter() - start,
        attempts=attempts,
        model=completion.model or request.config.model,
        cache_key=request.cache_key,
        finish_reason=completion.finish_reason,
        output_truncated=cut,
        retry_after_capped_s=capped,
    )


def failed_result(
    request: GenerationRequest,
    exc: ProviderError,
    attempts: int,
    start: float,
    capped: float = 0.0,
) -> GenerationResult:
    """The row of a request that ended in ``exc`` (its message redacted and bounded)."""
    return GenerationResult(
        item_id=request.item_id,
        repeat=request.repeat,
        output=None,
        error=redact(str(exc))[:2000],
        error_type=exc.kind,
        latency_s=time.perf_counter() - start,
        attempts=attempts,
        model=request.config.model,
        cache_key=request.cache_key,
        retry_after_capped_s=capped,
    )


def cached_result(request: GenerationRequest, row: dict[str, Any]) -> GenerationResult:
    """The row of a request answered from the response cache."""
    return GenerationResult(
        item_id=request.item_id,
        repeat=request.repeat,
        output=row.get("output"),
        prompt_tokens=int(row.get("prompt_tokens") or 0),
        completion_tokens=int(row.get("completion_tokens") or 0),
        cost_usd=float(row.get("cost_usd") or 0.0),
        latency_s=float(row.get("latency_s") or 0.0),
        attempts=0,
        cached=True,
        model=str(row.get("model") or request.config.model),
        cache_key=request.cache_key,
        finish_reason=str(row.get("finish_reason") or ""),
        output_truncated=bool(row.get("output_truncated")),
    )


def shared_result(leader: GenerationResult, request: GenerationRequest) -> GenerationResult:
    """The result of an identical request's call, for another request of the same run."""
    return dataclasses.replace(
        leader,
        item_id=request.item_id,
        repeat=request.repeat,
        cached=leader.ok,  # answered by the identical request's call, not paid again
        attempts=0,
    )
