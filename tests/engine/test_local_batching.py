"""Batched greedy decoding of the embedded model: the same replies as one call at a time, each
request's own stop strings and max_tokens, and a failing request failing alone.

The exactness tests load the model without llama.cpp's weight repacking: the repacked CPU kernels
take rows of a batch four at a time and the rest one at a time, so a token's logits change in the
last bits with its place in the batch (even one call at a time, with the previous prompt's prefix
reused). Without it every row is computed the same way and the replies must match exactly.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llmlab_pipelines.engine import Engine, GenerationRequest, LiteLLMClient, _local
from llmlab_pipelines.engine._local_batch import BatchDecoder, BatchJob
from llmlab_pipelines.lab import GenerationParams, ModelConfig, load_lab

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def exact_llama(models_dir: Path) -> Iterator[Any]:
    """The packaged model, loaded without weight repacking (see the module docstring)."""
    llama_cpp = pytest.importorskip("llama_cpp", reason="the 'local' extra is not installed")
    import llama_cpp.llama as llama_module

    default = llama_cpp.llama_model_default_params

    def no_repack() -> Any:
        params = default()
        params.use_extra_bufts = False
        return params

    path = _local.model_path("gemma3-270m", models_dir)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(llama_module.llama_cpp, "llama_model_default_params", no_repack)
        llama = llama_cpp.Llama(model_path=str(path), n_ctx=2048, verbose=False, seed=0)
    yield llama
    llama.close()


def lab_prompts() -> list[str]:
    lab = load_lab(ROOT / "lab")
    pairs = [("arithmetic", "few_shot"), ("capitals", "zero_shot"), ("arithmetic", "zero_shot")]
    return [lab.prompts[p].render(r) for d, p in pairs for r in lab.datasets[d].records[:5]]


def one_at_a_time(llama: Any, job: BatchJob) -> dict[str, Any]:
    out = llama.create_completion(
        job.prompt, max_tokens=job.max_tokens, temperature=0.0, stop=job.stop, seed=0
    )
    choice = out["choices"][0]
    return {"text": choice["text"], "reason": choice["finish_reason"], "usage": out["usage"]}


def batched(llama: Any, jobs: list[BatchJob], width: int = 4, **kw: Any) -> list[dict]:
    decoder = BatchDecoder(llama, width, **kw)
    try:
        decoder.run(deque(jobs))
    finally:
        decoder.close()
    return [
        {"text": c["text"], "reason": c["finish_reason"], "usage": j.result["usage"]}
        if j.result is not None
        else {"error": j.error}
        for j in jobs
        for c in ([j.result["choices"][0]] if j.result is not None else [{}])
    ]


def test_batched_greedy_replies_are_those_of_one_call_at_a_time(exact_llama: Any) -> None:
    jobs = [BatchJob(p, max_tokens=10, stop=["\n"]) for p in lab_prompts()]
    together = batched(exact_llama, jobs)
    alone = [one_at_a_time(exact_llama, j) for j in jobs]
    assert together == alone
    assert {r["reason"] for r in alone} == {"stop", "length"}  # both endings were exercised


def test_each_request_keeps_its_own_stop_strings_and_max_tokens(exact_llama: Any) -> None:
    prompt = "Count: 1, 2, 3, 4, 5,"
    settings = [(1, []), (3, []), (12, [", 9"]), (12, ["7"]), (40, ["\n"]), (12, [])]
    jobs = [BatchJob(prompt, max_tokens=n, stop=stop) for n, stop in settings]
    together = batched(exact_llama, jobs, width=3)  # more jobs than slots: slots are reused
    for job, reply in zip(jobs, together, strict=True):
        assert reply == one_at_a_time(exact_llama, job)
        assert reply["usage"]["completion_tokens"] <= job.max_tokens
        assert not any(s in reply["text"] for s in job.stop)
    assert [r["reason"] for r in together[:2]] == ["length", "length"]
    assert together[0]["usage"]["completion_tokens"] == 1
    assert together[2]["reason"] == "stop" and together[2]["text"].endswith("8")


def test_a_prompt_longer_than_the_context_fails_alone(exact_llama: Any) -> None:
    long = "one two three " * 40
    jobs = [
        BatchJob("The capital of France is", max_tokens=5, stop=["\n"]),
        BatchJob(long, max_tokens=5, stop=["\n"]),
        BatchJob("2 + 2 =", max_tokens=5, stop=["\n"]),
    ]
    together = batched(exact_llama, jobs, n_ctx=64)
    assert "exceed context window of 64" in str(together[1]["error"])
    for i in (0, 2):
        assert together[i] == one_at_a_time(exact_llama, jobs[i])


def test_the_engine_decodes_concurrent_local_calls_together(models_dir: Path) -> None:
    pytest.importorskip("llama_cpp", reason="the 'local' extra is not installed")
    config = ModelConfig(
        model="llmlab/gemma3-270m", mode="completion", concurrency=4, max_retries=0
    )
    params = GenerationParams(temperature=0, max_tokens=6, stop=["\n"])
    prompts = [*lab_prompts()[:6], "word " * 3000]  # the last cannot fit 2048 tokens
    requests = [
        GenerationRequest(f"i{i}", 0, p, "local", config, params) for i, p in enumerate(prompts)
    ]
    results = Engine(LiteLLMClient(models_dir=models_dir)).run(requests)
    assert all(r.ok and r.completion_tokens > 0 for r in results[:-1])
    assert results[-1].error_type == "bad_request"
    assert "exceed context window" in (results[-1].error or "")
    feeder = _local._feeders[str(_local.model_path("gemma3-270m", models_dir))]
    assert feeder.decoder.width == 4 and not feeder.queue
