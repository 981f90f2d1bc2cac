"""Deterministic answers for the simulator."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

_EXPR = re.compile(r"(-?\d+)\s*([+\-*])\s*(-?\d+)")
_WORDS = re.compile(r"(-?\d+)\s+(plus|minus|times)\s+(-?\d+)", re.IGNORECASE)
_OPS = {
    "+": int.__add__,
    "-": int.__sub__,
    "*": int.__mul__,
    "plus": int.__add__,
    "minus": int.__sub__,
    "times": int.__mul__,
}


def arithmetic_responder(prompt: str) -> str:
    """Answer the last ``a + b`` (or ``a plus b``) in the prompt; otherwise "I don't know"."""
    found = list(_EXPR.finditer(prompt)) or list(_WORDS.finditer(prompt))
    if not found:
        return "I don't know"
    a, op, b = found[-1].groups()
    return str(_OPS[op.lower()](int(a), int(b)))


def echo_responder(prompt: str) -> str:
    """The prompt's last non-empty line."""
    lines = [line for line in prompt.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def gold_responder(answers: Mapping[str, str], default: str = "no idea") -> Callable[[str], str]:
    """A model that knows a dataset's gold answers: the answer of the (longest) question the
    prompt contains, else ``default``.

    Args:
        answers: question text -> the reply to give (e.g. the published worked solution).
        default: The reply to a prompt holding none of the questions.
    """
    ordered = sorted(answers.items(), key=lambda pair: -len(pair[0]))

    def respond(prompt: str) -> str:
        return next((reply for question, reply in ordered if question in prompt), default)

    return respond


def key_echo(answer: str, model: str, authorization: str) -> tuple[str, str]:
    """A leaky provider's successful reply: the bearer key in the text and the model name."""
    key = authorization.removeprefix("Bearer ")
    return f"{answer} (key: {key})", f"{model}-{key}"
