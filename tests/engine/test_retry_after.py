"""Reading a 429's ``Retry-After``: seconds or an HTTP date, however odd, never an exception."""

from __future__ import annotations

import math

import pytest

from llmlab_pipelines.engine import Completion, Engine, GenerationRequest, classify
from llmlab_pipelines.lab import GenerationParams, ModelConfig

FAR_DATE = "Mon, 01 Jan 99999999999 00:00:00 GMT"


class RateLimitError(Exception):
    """What litellm raises for a 429, headers included."""

    status_code = 429

    def __init__(self, retry_after: str) -> None:
        super().__init__("429 Too Many Requests")
        self.headers = {"retry-after": retry_after}


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (FAR_DATE, math.inf),  # past datetime's range: OverflowError before
        ("Mon, 01 Jan 10000 00:00:00 GMT", math.inf),  # the year 10000: ValueError before
        ("Fri, 31 Dec 9999 23:59:59 GMT", pytest.approx(253402300799, rel=0.01)),
        ("inf", math.inf),
        ("1e309", math.inf),
        ("nan", 0.0),
        ("-5", 0.0),
        ("2.5", 2.5),
        ("Mon, 01 Jan 2001 00:00:00 GMT", 0.0),  # in the past
        ("garbage", None),
        ("Mon, 32 Jan 2020 00:00:00 GMT", None),  # no such day: not a date
    ],
)
def test_retry_after_values(header: str, expected: object) -> None:
    error = classify(RateLimitError(header))
    assert error.kind == "rate_limit"
    assert error.retry_after == expected


def test_a_retry_after_date_past_the_year_9999_is_capped_and_retried() -> None:
    class Client:
        calls = 0

        async def complete(self, request: GenerationRequest) -> Completion:
            Client.calls += 1
            if Client.calls == 1:  # what LiteLLMClient does with a provider's exception
                raise classify(RateLimitError(FAR_DATE))
            return Completion(text="ok", prompt_tokens=1, completion_tokens=1)

    request = GenerationRequest(
        "i0", 0, "p", "m", ModelConfig(model="openai/x"), GenerationParams(max_tokens=4)
    )
    engine = Engine(Client(), backoff_base=0.01, backoff_cap=0.05)
    (result,) = engine.run([request])
    assert result.ok and result.output == "ok" and result.attempts == 2
    assert result.retry_after_capped_s == math.inf
