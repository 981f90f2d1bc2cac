"""Judge calls through the generation engine: strict parsing, one retry, recorded failures."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..engine import Engine
from ..engine._types import GenerationRequest, GenerationResult
from ..lab import GenerationParams, Lab
from ..lab._judges import JudgeConfig
from ._parse import ParseError
from ._prompts import retry_prompt

#: What every judge verdict row tells of its call(s): why it failed, and what it cost.
CALL_COLUMNS = ["failure", "error", "prompt_tokens", "completion_tokens", "cost_usd"]

#: ``judge name -> the engine its calls go through`` (its budget, cache and progress).
EngineFactory = Callable[[str], Engine]


@dataclass
class JudgeCall:
    """One judge call, keyed by what it judges, with its verdict or failure and its cost."""

    key: tuple[Any, ...]
    request: GenerationRequest
    result: GenerationResult | None = None
    verdict: Any = None
    error: str | None = None
    failure: str | None = None
    tokens: tuple[int, int, float] = (0, 0, 0.0)
    cached: bool = True


def judge_request(
    lab: Lab, judge: JudgeConfig, item: str, repeat: int, prompt: str
) -> GenerationRequest:
    """The engine request asking ``judge``'s model ``prompt`` with the judge's parameters."""
    assert judge.model is not None
    config = lab.models[judge.model]
    params = config.generation_params().merged(
        GenerationParams(temperature=judge.temperature, max_tokens=judge.max_tokens)
    )
    return GenerationRequest(
        item_id=item,
        repeat=repeat,
        prompt=prompt,
        model_name=judge.model,
        config=config,
        params=params,
    )


def run_with_retry(
    engine: Engine, calls: list[JudgeCall], parse: Callable[[str], Any], *, json_reply: bool
) -> None:
    """Call, parse strictly; one retry telling the judge what was wrong; then a recorded failure."""
    for attempt in (0, 1):
        todo = [c for c in calls if c.verdict is None and (attempt == 0 or c.failure == "parse")]
        if not todo:
            return
        results = engine.run([c.request for c in todo])
        for call, result in zip(todo, results, strict=True):
            _record(call, result, parse, json_reply=json_reply)


def _record(
    call: JudgeCall, result: GenerationResult, parse: Callable[[str], Any], *, json_reply: bool
) -> None:
    p, q, cost = call.tokens
    call.tokens = (p + result.prompt_tokens, q + result.completion_tokens, cost + result.cost_usd)
    call.cached = call.cached and result.cached
    if result.error is not None or result.output is None:
        call.failure, call.error = "call", result.error or "no reply"
        return
    try:
        call.verdict = parse(result.output)
        call.failure = call.error = None
    except ParseError as exc:
        call.failure, call.error = "parse", str(exc)
        call.request = dataclasses.replace(
            call.request,
            prompt=retry_prompt(call.request.prompt, str(exc), json_reply=json_reply),
        )
