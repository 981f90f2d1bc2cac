"""Strict parsing of judge replies: a score in range, or a precise reason why not."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from ..lab._judges import JudgeConfig

_WORD = re.compile(r"[A-Za-z0-9_+-]+")


class ParseError(ValueError):
    """A judge reply that is not a usable verdict; the message says what is wrong."""


def _json_object(reply: str) -> dict[str, Any]:
    text = reply.strip()
    if text.startswith("```"):
        text = text.strip("`").removeprefix("json").strip()
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        raise ParseError(f"no JSON object in the reply {reply[:120]!r}")
    try:
        value = json.loads(text[start : end + 1])
    except ValueError as exc:
        raise ParseError(f"invalid JSON ({exc}) in {reply[:120]!r}") from None
    if not isinstance(value, dict):
        raise ParseError("the JSON reply is not an object")
    return value


def _first_word(reply: str) -> str:
    match = _WORD.search(reply)
    if not match:
        raise ParseError(f"an empty reply {reply[:60]!r}")
    return match.group().lower()


def parse_rubric(
    judge: JudgeConfig, dimensions: list[str], reply: str
) -> dict[str, tuple[float, str]]:
    """``dimension -> (raw score, reason)``; raises ParseError naming the problem."""
    if judge.labels:
        word = _first_word(reply)
        labels = {k.lower(): v for k, v in judge.labels.items()}
        if word not in labels:
            raise ParseError(f"expected one of {'/'.join(judge.labels)}, got {word!r}")
        return {d: (float(labels[word]), reply.strip()[:300]) for d in dimensions}
    data = _json_object(reply)
    lo, hi = judge.scale
    out = {}
    for dim in dimensions:
        entry = data.get(dim, data if len(dimensions) == 1 and "score" in data else None)
        if entry is None:
            raise ParseError(f"no score for {dim!r} (keys: {', '.join(map(str, data)) or 'none'})")
        score = entry.get("score") if isinstance(entry, dict) else entry
        reason = str(entry.get("reason", "")) if isinstance(entry, dict) else ""
        if isinstance(score, str):
            try:
                score = float(score.strip())
            except ValueError:
                raise ParseError(f"{dim}: score {score!r} is not a number") from None
        if isinstance(score, bool) or not isinstance(score, (int, float)) or math.isnan(score):
            raise ParseError(f"{dim}: score {score!r} is not a number")
        if not lo <= score <= hi:
            raise ParseError(f"{dim}: score {score:g} is outside the scale {lo}..{hi}")
        out[dim] = (float(score), reason[:500])
    return out


def parse_pairwise(judge: JudgeConfig, reply: str) -> tuple[str, str]:
    """``("A" | "B" | "tie", reason)``."""
    if judge.labels is not None:
        word = _first_word(reply)
        reason = reply.strip()[:300]
    else:
        data = _json_object(reply)
        word = str(data.get("winner", "")).strip().lower()
        reason = str(data.get("reason", ""))[:500]
    verdict = {"a": "A", "b": "B", "tie": "tie", "draw": "tie", "equal": "tie"}.get(word)
    if verdict is None:
        raise ParseError(f"winner must be A, B or tie, got {word!r}")
    return verdict, reason
