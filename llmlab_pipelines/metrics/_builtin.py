"""Deterministic metrics: each maps (output, expected, record) to a float in [0, 1]."""

from __future__ import annotations

import math
import re
import string
from typing import Any

_NUMBER = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?")
_PUNCT = str.maketrans("", "", string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize(text: str) -> str:
    """Lower-case, drop punctuation and articles, collapse white space (SQuAD-style)."""
    text = _ARTICLES.sub(" ", text.lower().translate(_PUNCT))
    return " ".join(text.split())


def first_number(text: str) -> float | None:
    """The first number written in ``text`` (``1,234.5`` -> 1234.5), or None."""
    match = _NUMBER.search(text)
    return float(match.group().replace(",", "")) if match else None


def exact_match(output: str, expected: Any, record: dict[str, Any]) -> float:
    """1.0 when output and expected are equal after :func:`normalize`."""
    return float(normalize(output) == normalize(str(expected)))


def numeric_match(output: str, expected: Any, record: dict[str, Any]) -> float:
    """1.0 when the first number in the output equals the expected number (rel. tol. 1e-6)."""
    want = expected if isinstance(expected, (int, float)) else first_number(str(expected))
    got = first_number(output)
    if want is None or got is None:
        return 0.0
    return float(math.isclose(got, float(want), rel_tol=1e-6, abs_tol=1e-9))


def contains(output: str, expected: Any, record: dict[str, Any]) -> float:
    """1.0 when the normalized expected answer occurs in the normalized output."""
    want = normalize(str(expected))
    return float(bool(want) and want in normalize(output))
