"""Answer extraction: the part of a reply a metric compares (``extract:`` in a metric entry).

``first`` / ``last``: the first or last number, read as people write them (``1,234``, ``$18``,
``-0.5``, ``18.``); ``final_answer``: what a chain of thought concludes (its first "the answer
is ...", ``#### ...`` or ``\\boxed{...}``, else its last number); ``regex:<pattern>``: the
pattern's first capture group (the whole match without one).
"""

from __future__ import annotations

import re
from collections.abc import Callable

Extractor = Callable[[str], "str | None"]

#: a number as written in prose: an optional sign (not a hyphen inside a word or a range, as in
#: ``3-4``), an optional currency sign, thousands separators, decimals, an exponent
NUMBER = re.compile(
    r"(?:(?<![\w.])(?P<sign>[-+\u2212]))?[$\u20ac\u00a3]?(?<![\d.])"
    r"(?P<num>(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?|\.\d+)"
)
_BOXED = re.compile(r"\\boxed\s*\{((?:[^{}]|\{[^{}]*\})*)\}")
_HASHES = re.compile(r"####\s*([^\n]+)")
_ANSWER_IS = re.compile(
    r"(?:final answer|the answer|answer)\s*(?:is|:|=)\s*:?\s*(.+?)(?:\.\s|\.?\s*$|\n)",
    re.IGNORECASE | re.MULTILINE,
)
EXTRACT_KINDS = ("first", "last", "final_answer", "regex:<pattern>")


def numbers(text: str) -> list[str]:
    """Every number in ``text`` as plain digits: ``"$1,234.50"`` -> ``"1234.50"``."""
    out = []
    for match in NUMBER.finditer(text):
        sign = "-" if match["sign"] in ("-", "\u2212") else ""
        out.append(sign + match["num"].replace(",", ""))
    return out


def to_number(text: str) -> float | None:
    """The first number of ``text`` as a float, or None."""
    found = numbers(text)
    return float(found[0]) if found else None


def first_of(text: str) -> str | None:
    """The first number of the reply."""
    found = numbers(text)
    return found[0] if found else None


def last_of(text: str) -> str | None:
    """The last number of the reply."""
    found = numbers(text)
    return found[-1] if found else None


def final_answer(text: str) -> str | None:
    """What a chain of thought concludes: the first ``\\boxed{...}``, else the first
    ``#### ...``, else the first "the answer is ...", else the last number, else None.

    The first, not the last: a base model that goes on after its answer invents more questions
    and answers them too. A conclusion written as a sum (``20 - 3 = 17``) is what follows its
    last ``=``.
    """
    for pattern in (_BOXED, _HASHES, _ANSWER_IS):
        found = pattern.findall(text)
        if found:
            span = str(found[0]).strip().rstrip(".").strip()
            return span.rpartition("=")[2].strip() if "=" in span else span
    return last_of(text)


def regex_extractor(pattern: str) -> Extractor:
    """The first capture group of ``pattern``'s first match (or the whole match).

    Raises:
        ValueError: the pattern does not compile.
    """
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"regex {pattern!r} does not compile: {exc}") from None

    def extract(text: str) -> str | None:
        match = compiled.search(text)
        if match is None:
            return None
        return match.group(1) if compiled.groups else match.group(0)

    return extract


def extractor(kind: str) -> Extractor:
    """The extractor an ``extract:`` option names.

    Raises:
        ValueError: an unknown kind, or a regex that does not compile.
    """
    if kind.startswith("regex:"):
        return regex_extractor(kind.removeprefix("regex:"))
    named: dict[str, Extractor] = {"first": first_of, "last": last_of, "final_answer": final_answer}
    if kind not in named:
        raise ValueError(f"extract: unknown kind {kind!r} (known: {', '.join(EXTRACT_KINDS)})")
    return named[kind]
