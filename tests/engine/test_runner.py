"""The engine's retry and concurrency mechanics, with an in-memory client."""

from __future__ import annotations

import asyncio

import pytest

from llmlab_pipelines.engine import Completion, Engine, GenerationRequest, ProviderError, redact
from llmlab_pipelines.lab import GenerationParams, ModelConfig


def request(i: int, **config: object) -> GenerationRequest:
    model = ModelConfig(model="openai/x", **config)  # type: ignore[arg-type]
    return GenerationRequest(
        item_id=f"i{i}",
        repeat=0,
        prompt=f"prompt {i}",
        model_name="m",
        config=model,
        params=GenerationParams(),
    )


class ScriptedClient:
    """Fails each prompt a scripted number of times, then answers; tracks concurrency."""

    def __init__(
        self, failures: dict[str, list[ProviderError]] | None = None, delay: float = 0.0
    ) -> None:
        self.failures = failures or {}
        self.delay = delay
        self.calls: dict[str, int] = {}
        self.in_flight = 0
        self.peak = 0

    async def complete(self, req: GenerationRequest) -> Completion:
        self.calls[req.prompt] = self.calls.get(req.prompt, 0) + 1
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
            pending = self.failures.get(req.prompt, [])
            if pending:
                raise pending.pop(0)
            return Completion(text=req.prompt.upper(), prompt_tokens=2, completion_tokens=1)
        finally:
            self.in_flight -= 1


def test_results_keep_request_order_and_concurrency_is_bounded() -> None:
    client = ScriptedClient(delay=0.01)
    requests = [request(i, concurrency=3) for i in range(20)]
    results = Engine(client).run(requests)
    assert [r.item_id for r in results] == [f"i{i}" for i in range(20)]
    assert all(r.output == f"PROMPT {i}" for i, r in enumerate(results))
    assert client.peak == 3


def test_retryable_errors_are_retried_honouring_retry_after() -> None:
    client = ScriptedClient(
        {
            "prompt 0": [
                ProviderError("rate_limit", "429", retry_after=0.05),
                ProviderError("server", "503"),
            ]
        }
    )
    engine = Engine(client, backoff_base=0.001)
    (result,) = engine.run([request(0)])
    assert result.ok and result.attempts == 3 and client.calls["prompt 0"] == 3
    assert result.latency_s >= 0.05


def test_permanent_errors_are_recorded_not_raised() -> None:
    client = ScriptedClient({"prompt 1": [ProviderError("auth", "401 bad key sk-abcdefghijkl123")]})
    results = Engine(client).run([request(0), request(1)])
    assert results[0].ok
    assert not results[1].ok and results[1].error_type == "auth" and results[1].attempts == 1
    assert "sk-abcdefghijkl123" not in (results[1].error or "")


def test_retries_are_bounded() -> None:
    errors = [ProviderError("server", "500") for _ in range(10)]
    client = ScriptedClient({"prompt 0": errors})
    (result,) = Engine(client, backoff_base=0.0).run([request(0, max_retries=2)])
    assert not result.ok and result.attempts == 3 and client.calls["prompt 0"] == 3


def test_a_client_bug_becomes_an_error_row() -> None:
    class Broken:
        async def complete(self, req: GenerationRequest) -> Completion:
            raise KeyError("choices")

    (result,) = Engine(Broken()).run([request(0)])
    assert result.error_type == "other" and "KeyError" in (result.error or "")


@pytest.mark.parametrize(
    "text",
    [
        "Authorization: Bearer abcdefghijklmnop",
        "key sk-proj-1234567890abcdef",
        "api_key='zzzzzzzzzz'",
    ],
)
def test_redact_hides_key_shapes(text: str) -> None:
    assert "***" in redact(text)
    assert "1234567890abcdef" not in redact(text) and "abcdefghijklmnop" not in redact(text)
