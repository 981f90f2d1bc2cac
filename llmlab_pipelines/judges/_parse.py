"""Strict parsing of judge replies: a score in range, or a precise reason why not."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from ..lab._judges import JudgeConfig

#: What may sit before a label: spaces, quotes, emphasis, an opening bracket (``**yes**``).
_LEAD = re.compile(r"^[\s*_\"'`(\[]*")
#: What may end a label: the end of the line, a space, or punctuation opening a reason
#: (``yes - ...``, ``yes. ...``, ``yes, because ...``, ``yes: ...``, ``yes — ...``).
_AFTER = r"(?=$|[\s.,:;!?)\]*\"'`–—]|-(?:\s|$))"
#: The separator between a label and its reason (after any closing quote or emphasis right
#: after the label), dropped from the reason.
_SEPARATOR = re.compile(r"^[*\"'`]*[\s)\].,:;!?–—-]*")
REASON_CHARS = 300  # a label reply's reason is clipped to this many characters


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


def split_label(reply: str, labels: list[str]) -> tuple[str, str]:
    """``(label, reason)`` of a label reply: a label first, then an optional reason.

    Only the reply's first non-empty line is read. The label is one of ``labels`` (any case),
    at the start (after spaces, quotes or emphasis) and followed by the end of the line, a
    space or punctuation: ``yes``, ``Yes - it names Paris``, ``no. "15" is not "12"``, ``yes,
    because ...``. The reason is the rest of the line without that separator (clipped to
    :data:`REASON_CHARS`). Raises ParseError naming what the reply starts with otherwise
    (``maybe``, ``yesterday``, ``yes/no``, ``The answer is yes``).
    """
    line = next((x for x in reply.splitlines() if x.strip()), "")
    text = _LEAD.sub("", line)
    if not text.strip():
        raise ParseError(f"an empty reply {reply[:60]!r}")
    for label in sorted(labels, key=len, reverse=True):  # longest first: "no" after "none"
        match = re.match(re.escape(label) + _AFTER, text, re.IGNORECASE)
        if match:
            reason = _SEPARATOR.sub("", text[match.end() :]).strip()
            return label, reason[:REASON_CHARS]
    start = text.split()[0][:40]
    raise ParseError(
        f"expected one of {'/'.join(labels)}, got {start!r} "
        "(a label first, then optionally a reason: 'yes - it names Paris')"
    )


def parse_rubric(
    judge: JudgeConfig, dimensions: list[str], reply: str
) -> dict[str, tuple[float, str]]:
    """``dimension -> (raw score, reason)``; raises ParseError naming the problem."""
    if judge.labels:
        label, reason = split_label(reply, list(judge.labels))
        return {d: (float(judge.labels[label]), reason) for d in dimensions}
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
        word, reason = split_label(reply, ["A", "B", "tie", "draw", "equal"])
        word = word.lower()
    else:
        data = _json_object(reply)
        word = str(data.get("winner", "")).strip().lower()
        reason = str(data.get("reason", ""))[:500]
    verdict = {"a": "A", "b": "B", "tie": "tie", "draw": "tie", "equal": "tie"}.get(word)
    if verdict is None:
        raise ParseError(f"winner must be A, B or tie, got {word!r}")
    return verdict, reason
