"""The embedded model's ``timeout``: counted from when its one worker starts a call, and a call
that runs out of time stops generating, so the worker is free for the next item."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from llmlab_pipelines.engine import Engine, GenerationRequest, LiteLLMClient, _local
from llmlab_pipelines.lab import GenerationParams, ModelConfig

TOKEN_S = 0.01


def local_request(
    i: int, prompt: str | None = None, max_tokens: int = 16, **config: Any
) -> GenerationRequest:
    model = ModelConfig(model="llmlab/gemma3-270m", max_retries=0, **config)
    # sampled calls (temperature > 0) run one at a time on the worker whatever the concurrency:
    # the path these tests fake (greedy calls at concurrency > 1 are batched, see
    # test_local_batching.py)
    params = GenerationParams(max_tokens=max_tokens, temperature=0.5)
    return GenerationRequest(f"i{i}", 0, prompt or f"i{i}", "local", model, params)


class FakeModel:
    """Stands in for ``complete_text``: 'generates' for a set time per prompt, one token every
    10 ms, ending early (as llama.cpp's stopping criterion makes it) once ``stop`` is set."""

    def __init__(self, seconds: dict[str, float]) -> None:
        self.seconds = seconds
        self.events: list[tuple[str, str, float]] = []
        self.t0 = time.monotonic()

    def __call__(
        self, _llama: Any, prompt: str, _params: Any, stop: threading.Event | None = None
    ) -> dict[str, Any]:
        with _local._lock:  # as the real one holds it
            return self._generate(prompt, stop)

    def _generate(self, prompt: str, stop: threading.Event | None) -> dict[str, Any]:
        started = time.monotonic()
        self.events.append(("start", prompt, started - self.t0))
        while time.monotonic() - started < self.seconds[prompt]:
            if stop is not None and stop.is_set():
                self.events.append(("stopped", prompt, time.monotonic() - self.t0))
                return {"choices": [{"text": "", "finish_reason": "stop"}], "usage": {}}
            time.sleep(TOKEN_S)
        self.events.append(("done", prompt, time.monotonic() - self.t0))
        usage = {"prompt_tokens": 1, "completion_tokens": 1}
        return {"choices": [{"text": prompt.upper(), "finish_reason": "stop"}], "usage": usage}


@pytest.fixture
def fake_model(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[..., FakeModel]:
    def install(seconds: dict[str, float]) -> FakeModel:
        model = FakeModel(seconds)
        monkeypatch.setattr(_local, "complete_text", model)
        monkeypatch.setattr(_local, "model_path", lambda _name, _dir: tmp_path / "m.gguf")
        monkeypatch.setitem(_local._models, str(tmp_path / "m.gguf"), object())  # "loaded"
        return model

    return install


def worker_idle_within(seconds: float) -> bool:
    """Whether the model's worker thread takes a new job within ``seconds``."""
    try:
        _local._executor.submit(lambda: None).result(timeout=seconds)
    except TimeoutError:
        return False
    return True


@pytest.mark.parametrize(
    ("slow", "concurrency"),
    [
        (0, 1),  # the review's case: i1 used to time out waiting behind i0's abandoned call
        (0, 3),
        (1, 2),  # i2 starts while i1 generates: looking up the loaded model must not block
    ],
)
def test_a_timed_out_local_call_stops_and_the_next_item_runs(
    fake_model: Callable[..., FakeModel], tmp_path: Path, slow: int, concurrency: int
) -> None:
    seconds = {f"i{i}": 2.5 if i == slow else 0.3 for i in range(3)}
    model = fake_model(seconds)
    engine = Engine(LiteLLMClient(models_dir=tmp_path))
    requests = [local_request(i, timeout=1, concurrency=concurrency) for i in range(3)]
    started = time.monotonic()
    results = engine.run(requests)
    elapsed = time.monotonic() - started
    print(f"{seconds}, timeout 1, concurrency {concurrency}: {elapsed:.2f}s")

    timed_out = results[slow]
    assert timed_out.error_type == "timeout" and "within 1s" in (timed_out.error or "")
    others = [(r.output, r.error) for i, r in enumerate(results) if i != slow]
    assert others == [(f"I{i}", None) for i in range(3) if i != slow]
    assert ("stopped", f"i{slow}") in [(kind, prompt) for kind, prompt, _ in model.events]
    assert worker_idle_within(0.2), "the worker is still busy with an abandoned call"
    assert elapsed < 2.0  # 1 s for the slow one, 0.3 s for each other; not its full 2.5 s


def test_the_local_deadline_starts_when_the_worker_starts_the_call(
    fake_model: Callable[..., FakeModel], tmp_path: Path
) -> None:
    # three 0.6 s calls queued at once on the one worker: each is within its 1 s
    fake_model({"i0": 0.6, "i1": 0.6, "i2": 0.6})
    engine = Engine(LiteLLMClient(models_dir=tmp_path))
    results = engine.run([local_request(i, timeout=1, concurrency=3) for i in range(3)])
    assert [(r.output, r.error_type) for r in results] == [("I0", None), ("I1", None), ("I2", None)]


def test_complete_text_gives_llama_cpp_a_stopping_criterion() -> None:
    class Llama:
        def create_completion(self, _prompt: str, **kwargs: Any) -> dict[str, Any]:
            stopping = kwargs["stopping_criteria"]  # called as llama.cpp calls it
            tokens = 0
            while tokens < kwargs["max_tokens"] and not stopping([], []):
                tokens += 1
                if tokens == 3:
                    stop.set()
            return {"tokens": tokens}

    stop = threading.Event()
    out = _local.complete_text(Llama(), "p", {"max_tokens": 100}, stop)
    assert out == {"tokens": 3}


@pytest.mark.slow
def test_the_real_model_stops_generating_at_the_deadline(models_dir: Path) -> None:
    pytest.importorskip("llama_cpp", reason="the 'local' extra (llama-cpp-python) is not installed")
    llama = _local.load_llama(_local.model_path("gemma3-270m", models_dir))  # loading: not timed
    short = "The capital of France is"
    started = time.monotonic()
    _local.complete_text(llama, short, {"max_tokens": 4})
    # room for the short call on a busy machine; 1500 tokens take far longer (~15 s idle)
    timeout = max(3.0, 5 * (time.monotonic() - started))
    count = "Count from 1 to 1000: " + ", ".join(str(n) for n in range(1, 11)) + ","
    requests = [
        local_request(0, count, max_tokens=1500, timeout=timeout, concurrency=1),
        local_request(1, short, max_tokens=4, timeout=timeout, concurrency=1),
    ]
    engine = Engine(LiteLLMClient(models_dir=models_dir))
    started = time.monotonic()
    results = engine.run(requests)
    elapsed = time.monotonic() - started
    idle = worker_idle_within(1.0)
    print(f"1500 tokens, then 4, timeout {timeout:.1f}s: {elapsed:.2f}s, worker idle: {idle}")

    assert results[0].error_type == "timeout" and "stopped" in (results[0].error or "")
    assert results[1].ok and results[1].completion_tokens > 0
    assert idle, "the llama worker is still generating the abandoned reply"
