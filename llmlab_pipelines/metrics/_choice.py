"""Multiple choice: the record's ``choices`` and a letter, index or text answer, whatever the
reply's form ("B", "(B)", "B) Paris", "The answer is B", "Paris")."""

from __future__ import annotations

import re
import string
from typing import Any

from ._builtin import normalize

_ANSWER_IS = re.compile(
    r"answer\s*(?:is|:)?\s*:?\s*(?:option\s+)?\(?([A-Za-z0-9]{1,2})\)?(?!\w)", re.IGNORECASE
)
_LEADING = re.compile(
    r"^\s*(?:\(([A-Za-z0-9]{1,2})\)|\[([A-Za-z0-9]{1,2})\]|([A-Z0-9]{1,2})(?:[.):\]]|$))"
)
_TOKEN = re.compile(r"(?<![\w'])([A-Z0-9]{1,2})(?![\w'])")


def choices_of(record: dict[str, Any]) -> tuple[list[str], list[str]]:
    """``(labels, texts)`` of the record's ``choices``: a list (labelled A, B, ...) or an object
    with ``text`` and optional ``label`` lists (the ARC shape).

    Raises:
        ValueError: the record has no usable ``choices``.
    """
    choices = record.get("choices")
    labels: list[str] | None = None
    if isinstance(choices, dict):
        labels = [str(x) for x in choices.get("label") or []] or None
        choices = choices.get("text")
    if not isinstance(choices, list) or not choices:
        raise ValueError("multiple_choice needs a field 'choices' (a list) in the record")
    texts = [str(c) for c in choices]
    if labels is None or len(labels) != len(texts):
        labels = list(string.ascii_uppercase[: len(texts)])
    return labels, texts


def expected_index(expected: Any, labels: list[str], texts: list[str]) -> int:
    """The right choice's index: from a label (``"B"``), an index (``1``, ``"1"``, from 0) or
    the choice's text.

    Raises:
        ValueError: the expected answer names no choice.
    """
    if isinstance(expected, int) and not isinstance(expected, bool):
        if 0 <= expected < len(texts):
            return expected
    elif isinstance(expected, str):
        text = expected.strip()
        found = _label_index(text, labels)
        if found is None and text.isdigit() and int(text) < len(texts):
            found = int(text)
        if found is None:
            found = _text_index(text, texts, whole=True)
        if found is not None:
            return found
    raise ValueError(
        f"expected {expected!r} is none of the choices (labels {', '.join(labels)}, "
        f"indexes from 0, or a choice's text)"
    )


def reply_index(output: str, labels: list[str], texts: list[str]) -> int | None:
    """The choice a reply picks, or None when it picks none (or several)."""
    for match in reversed(list(_ANSWER_IS.finditer(output))):
        token, rest = match.group(1), output[match.end() :].lstrip(" ")
        if token.islower() and rest[:1].isalpha():
            continue  # "the answer is a city ...": an article, not choice (a)
        found = _label_index(token, labels)
        if found is not None:
            return found
    leading = _LEADING.match(output)
    if leading:
        found = _label_index(next(g for g in leading.groups() if g), labels)
        if found is not None:
            return found
    found = _text_index(output, texts, whole=False)
    if found is not None:
        return found
    named = {i for t in _TOKEN.findall(output) if (i := _label_index(t, labels)) is not None}
    return named.pop() if len(named) == 1 else None


def _label_index(text: str, labels: list[str]) -> int | None:
    for index, label in enumerate(labels):
        if text == label or (text.upper() == label.upper() and label.isalpha()):
            return index
    return None


def _text_index(text: str, texts: list[str], *, whole: bool) -> int | None:
    """The one choice whose normalized text is the reply (``whole``) or occurs in it."""
    said = normalize(text)
    if not said:
        return None
    hits = [
        i
        for i, t in enumerate(texts)
        if normalize(t) and (said == normalize(t) or (not whole and _contains(said, normalize(t))))
    ]
    return hits[0] if len(hits) == 1 else None


def _contains(text: str, part: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(part)}(?!\w)", text) is not None


def multiple_choice(output: str, expected: Any, record: dict[str, Any]) -> float:
    """1.0 when the reply picks the expected choice of the record's ``choices``."""
    labels, texts = choices_of(record)
    want = expected_index(expected, labels, texts)
    return float(reply_index(output, labels, texts) == want)
