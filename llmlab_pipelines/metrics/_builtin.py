"""Deterministic metrics: each maps (output, expected, record) to a float in [0, 1]."""

from __future__ import annotations

import json
import math
import re
import string
from typing import Any

from ._extract import to_number

_PUNCT = str.maketrans("", "", string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize(text: str) -> str:
    """Lower-case, drop punctuation and articles, collapse white space (SQuAD-style)."""
    text = _ARTICLES.sub(" ", text.lower().translate(_PUNCT))
    return " ".join(text.split())


def first_number(text: str) -> float | None:
    """The first number written in ``text``, read as people write it (``1,234.5`` -> 1234.5,
    ``-$5`` -> -5, ``−7`` -> -7; the hyphen of ``3-4`` is no sign), or None."""
    return to_number(text)


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


def token_f1(output: str, expected: Any, record: dict[str, Any]) -> float:
    """SQuAD-style token F1 between the normalized output and expected answer."""
    got, want = normalize(output).split(), normalize(str(expected)).split()
    if not got or not want:
        return float(got == want)
    common: dict[str, int] = {}
    for token in want:
        common[token] = common.get(token, 0) + 1
    overlap = 0
    for token in got:
        if common.get(token, 0) > 0:
            overlap += 1
            common[token] -= 1
    if overlap == 0:
        return 0.0
    precision, recall = overlap / len(got), overlap / len(want)
    return 2 * precision * recall / (precision + recall)


def regex_match(output: str, expected: Any, record: dict[str, Any]) -> float:
    """1.0 when the record's ``pattern`` (a regular expression) matches the output anywhere."""
    pattern = record.get("pattern")
    if not isinstance(pattern, str):
        raise ValueError("regex_match needs a string field 'pattern' in the dataset record")
    return float(re.search(pattern, output) is not None)


def _json_of(output: str) -> Any:
    text = output.strip()
    if text.startswith("```"):  # a fenced block: ```json ... ```
        text = text.strip("`").removeprefix("json").strip()
    return json.loads(text)


def json_valid(output: str, expected: Any, record: dict[str, Any]) -> float:
    """1.0 when the output (optionally in a ```json fence) parses as JSON."""
    try:
        _json_of(output)
    except ValueError:
        return 0.0
    return 1.0


def json_schema_match(output: str, expected: Any, record: dict[str, Any]) -> float:
    """1.0 when the output is JSON valid against the record's ``schema`` (a JSON Schema)."""
    import jsonschema

    schema = record.get("schema")
    if isinstance(schema, str):
        schema = json.loads(schema)
    if not isinstance(schema, dict):
        raise ValueError("json_schema_match needs a field 'schema' (a JSON Schema) in the record")
    try:
        jsonschema.validate(_json_of(output), schema)
    except (ValueError, jsonschema.ValidationError):
        return 0.0
    return 1.0


def length_chars(output: str, expected: Any, record: dict[str, Any]) -> float:
    """The output's length in characters."""
    return float(len(output))
