"""Batched greedy decoding of the embedded model: several requests decoded together.

One llama.cpp context holds ``width`` sequences, each with its own KV cache (``kv_unified`` off:
a sequence's cells sit where they would in a one-sequence context, so its attention sums run in
the same order). Each ``llama_decode`` call carries the next token of every generating sequence
plus prompt tokens of newly admitted ones (continuous batching): a request that finishes frees
its slot for the next one at once, and the weights are read once a step for every sequence
instead of once a sequence. A slot keeps its last request's tokens, and a new request goes to the
free slot sharing the longest prefix with it (a few-shot prompt's examples are evaluated once),
as ``Llama.create_completion`` does for its one sequence.

Greedy only (temperature 0): the token is the first arg-max of the logits, which is what
llama.cpp's greedy sampler picks; replies end as ``create_completion``'s do (end-of-generation
token, the first stop string, ``max_tokens``, or the caller's ``stop`` event).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class BatchJob:
    """One request to the batch decoder, and what became of it."""

    prompt: str
    max_tokens: int
    stop: list[str]
    cancel: threading.Event = field(default_factory=threading.Event)
    on_start: Callable[[], object] = lambda: None  # it got a slot (its timeout starts)
    on_done: Callable[[], object] = lambda: None  # ``result`` or ``error`` is set
    result: dict[str, Any] | None = None
    error: Exception | None = None


@dataclass
class _Slot:
    """One sequence of the context: the tokens its KV cache holds, and its current job."""

    seq: int
    cached: list[int] = field(default_factory=list)  # tokens in this sequence's KV cache
    job: BatchJob | None = None
    prompt: list[int] = field(default_factory=list)
    pending: list[int] = field(default_factory=list)  # tokens to evaluate next
    completion: list[int] = field(default_factory=list)
    limit: int = 0  # max_tokens, capped by the context


class BatchDecoder:
    """Greedy decoding of up to ``width`` requests at once on one llama.cpp model.

    Not thread-safe: one thread calls :meth:`run` (the model's worker thread).

    Args:
        llama: A loaded ``llama_cpp.Llama`` (its model weights are shared, not copied).
        width: Sequences decoded together.
        n_ctx: Context length of each sequence (the one-at-a-time context's, so the same
            prompts fit).
    """

    def __init__(self, llama: Any, width: int, n_ctx: int | None = None) -> None:
        import llama_cpp
        from llama_cpp import _internals

        self._lib = llama_cpp
        self._llama = llama
        self.width = width
        self.n_ctx = n_ctx or llama.n_ctx()
        self.n_batch = int(llama.n_batch)
        # The one-at-a-time context's settings (threads, flash attention off, ...), widened.
        params = llama_cpp.llama_context_params.from_buffer_copy(llama.context_params)
        params.n_ctx = self.n_ctx * width
        params.n_seq_max = width
        params.kv_unified = False
        self._ctx = _internals.LlamaContext(model=llama._model, params=params, verbose=False)
        self._batch = _internals.LlamaBatch(n_tokens=self.n_batch, embd=0, n_seq_max=1)
        self._vocab = llama._model.vocab
        self._n_vocab = int(llama.n_vocab())
        self._bos = [llama.token_bos()] if llama._model.add_bos_token() else []
        self._slots = [_Slot(seq) for seq in range(width)]

    def close(self) -> None:
        """Free the context (before the model it belongs to)."""
        self._batch.close()
        self._ctx.close()

    def run(self, queue: deque[BatchJob]) -> None:
        """Decode until ``queue`` is empty and every slot is free; ``queue`` may grow meanwhile
        (from other threads: ``deque`` appends and pops are atomic)."""
        while True:
            self._admit(queue)
            active = [slot for slot in self._slots if slot.job is not None]
            if not active:
                return
            try:
                sampled = self._decode(active)
            except Exception as exc:  # llama.cpp refused the batch: its jobs fail, not the rest
                for slot in active:
                    self._fail(slot, exc)
                continue
            for slot, index in sampled:
                self._advance(slot, index)

    def _admit(self, queue: deque[BatchJob]) -> None:
        free = [slot for slot in self._slots if slot.job is None]
        while free and queue:
            job = queue.popleft()
            if job.cancel.is_set():
                continue
            try:
                tokens = self._tokens(job.prompt)
            except Exception as exc:  # a prompt llama.cpp cannot tokenize fails alone
                job.error = exc
                job.on_done()
                continue
            if len(tokens) >= self.n_ctx:
                job.error = ValueError(
                    f"Requested tokens ({len(tokens)}) exceed context window of {self.n_ctx}"
                )
                job.on_done()
                continue
            slot = max(free, key=lambda s: _common_prefix(s.cached, tokens))
            free.remove(slot)
            self._start(slot, job, tokens)
            job.on_start()

    def _fail(self, slot: _Slot, exc: Exception) -> None:
        self._ctx.kv_cache_seq_rm(slot.seq, 0, -1)
        slot.cached, slot.pending = [], []
        job, slot.job = slot.job, None
        if job is not None:
            job.error = exc
            job.on_done()

    def _tokens(self, prompt: str) -> list[int]:
        """The prompt's tokens, as ``create_completion`` makes them."""
        text = prompt.encode("utf-8")
        body = self._llama.tokenize(text, add_bos=False, special=True) if prompt else []
        return self._bos + list(body)

    def _start(self, slot: _Slot, job: BatchJob, tokens: list[int]) -> None:
        reuse = _common_prefix(slot.cached, tokens)
        reuse = min(reuse, len(tokens) - 1)  # the last prompt token is evaluated for its logits
        if reuse <= 0 or not self._ctx.kv_cache_seq_rm(slot.seq, reuse, -1):
            self._ctx.kv_cache_seq_rm(slot.seq, 0, -1)
            reuse = 0
        slot.job, slot.prompt, slot.completion = job, tokens, []
        slot.cached = tokens[:reuse]
        slot.pending = tokens[reuse:]
        room = self.n_ctx - len(tokens)
        slot.limit = min(job.max_tokens, room) if job.max_tokens > 0 else room

    def _decode(self, active: list[_Slot]) -> list[tuple[_Slot, int]]:
        """One ``llama_decode``: each generating slot's token first, then prompt tokens while
        the batch has room. Returns the slots whose logits came out, with their batch row."""
        batch = self._batch.batch
        batch.n_tokens = 0
        sampled: list[tuple[_Slot, int]] = []
        for slot in sorted(active, key=lambda s: len(s.pending)):
            take = slot.pending[: self.n_batch - batch.n_tokens]
            if not take:
                break
            for token in take:
                row = batch.n_tokens
                batch.token[row] = token
                batch.pos[row] = len(slot.cached)
                batch.n_seq_id[row] = 1
                batch.seq_id[row][0] = slot.seq
                batch.logits[row] = False
                batch.n_tokens += 1
                slot.cached.append(token)
            slot.pending = slot.pending[len(take) :]
            if not slot.pending:
                batch.logits[batch.n_tokens - 1] = True
                sampled.append((slot, batch.n_tokens - 1))
        self._ctx.decode(self._batch)
        return sampled

    def _advance(self, slot: _Slot, row: int) -> None:
        """Take the slot's greedy token; end its reply the way ``create_completion`` does."""
        job = slot.job
        assert job is not None
        logits = self._lib.llama_get_logits_ith(self._ctx.ctx, row)
        token = int(np.argmax(np.ctypeslib.as_array(logits, shape=(self._n_vocab,))))
        reason = "stop"
        if self._lib.llama_vocab_is_eog(self._vocab, token):
            text = self._llama.detokenize(slot.completion, prev_tokens=slot.prompt)
        else:
            slot.completion.append(token)
            text = self._llama.detokenize(slot.completion, prev_tokens=slot.prompt)
            hits = [s for s in (x.encode("utf-8") for x in job.stop) if s in text]
            if _incomplete_utf8(text) and not job.cancel.is_set():
                hits = []  # a character split across tokens: no stop or length check yet
            elif hits:
                text = text[: text.index(hits[0])]
            elif len(slot.completion) >= slot.limit:
                reason = "length"
            if not hits and reason != "length" and not job.cancel.is_set():
                slot.pending = [token]
                return
        job.result = _completion(text, reason, len(slot.prompt), len(slot.completion))
        slot.job = None
        job.on_done()


def _completion(text: bytes, reason: str, prompt_tokens: int, completion_tokens: int) -> dict:
    """The reply in ``create_completion``'s shape (the parts the engine reads)."""
    return {
        "choices": [
            {"text": text.decode("utf-8", errors="ignore"), "index": 0, "finish_reason": reason}
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _incomplete_utf8(text: bytes) -> bool:
    """Whether ``text`` ends inside a multi-byte UTF-8 character."""
    for back, byte in enumerate(reversed(text[-3:]), start=1):
        if byte & 0xC0 == 0x80:
            continue
        need = 2 if byte & 0xE0 == 0xC0 else 3 if byte & 0xF0 == 0xE0 else 4 if byte >= 0xF0 else 1
        return need > back
    return False
