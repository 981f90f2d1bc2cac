"""The simulator's wire format: prompts read from requests, replies and errors written back."""

from __future__ import annotations

import asyncio
import hashlib
import time
from typing import Any

from aiohttp import web


def _digest(seed: int, prompt: str, attempt: int) -> int:
    raw = hashlib.blake2b(f"{seed}\x00{attempt}\x00{prompt}".encode(), digest_size=8).digest()
    return int.from_bytes(raw, "big")


def _cumulative(*rates: float) -> list[float]:
    out, total = [], 0.0
    for rate in rates:
        total += rate
        out.append(total)
    return out


def _prompt_of(body: dict[str, Any], *, chat: bool) -> str:
    if chat:
        parts = []
        for message in body.get("messages") or []:
            content = message.get("content")
            if isinstance(content, list):
                content = "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
            parts.append(str(content or ""))
        return "\n".join(parts)
    prompt = body.get("prompt", "")
    return "".join(map(str, prompt)) if isinstance(prompt, list) else str(prompt)


def _truncate(answer: str, body: dict[str, Any]) -> str:
    stops = body.get("stop") or []
    for stop in [stops] if isinstance(stops, str) else stops:
        if stop and stop in answer:
            answer = answer[: answer.index(stop)]
    limit = body.get("max_tokens") or body.get("max_completion_tokens")
    if limit:
        answer = " ".join(answer.split(" ")[: int(limit)])
    return answer


def _pad(answer: str, chars: int) -> str:
    """The answer repeated (space-separated) to exactly ``chars`` characters."""
    return ((answer + " ") * (chars // (len(answer) + 1) + 1))[:chars]


async def _trickle(request: web.Request, data: bytes, interval: float) -> web.StreamResponse:
    """A slow-loris reply: status and headers now, then one byte every ``interval`` seconds."""
    response = web.StreamResponse(
        status=200, headers={"Content-Type": "application/json", "Content-Length": str(len(data))}
    )
    await response.prepare(request)
    try:
        for i in range(len(data)):
            await response.write(data[i : i + 1])
            await asyncio.sleep(interval)
        await response.write_eof()
    except ConnectionError:  # the client gave up: what a deadline is for
        pass
    return response


def _retry_after(seconds: float) -> dict[str, str]:
    return {"Retry-After": f"{seconds:g}"}


def _tokens(text: str) -> int:
    return max(1, len(text.split()))


def _reply(prompt: str, answer: str, model: str, *, chat: bool) -> dict[str, Any]:
    usage = {"prompt_tokens": _tokens(prompt), "completion_tokens": _tokens(answer)}
    usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
    choice: dict[str, Any] = {"index": 0, "finish_reason": "stop", "logprobs": None}
    if chat:
        choice["message"] = {"role": "assistant", "content": answer}
    else:
        choice["text"] = answer
    return {
        "id": f"sim-{_digest(0, prompt, 0):x}",
        "object": "chat.completion" if chat else "text_completion",
        "created": int(time.time()),
        "model": model,
        "choices": [choice],
        "usage": usage,
    }


def _error(
    status: int,
    message: str,
    kind: str = "invalid_request_error",
    headers: dict[str, str] | None = None,
) -> web.Response:
    payload = {"error": {"message": message, "type": kind, "code": status}}
    return web.json_response(payload, status=status, headers=headers)
