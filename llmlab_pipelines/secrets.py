"""Keep API keys out of everything we write: results, logs, metadata, exceptions."""

from __future__ import annotations

import os
import re

_known: set[str] = set()
_PATTERNS = (
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._\-]{8,}"),
    re.compile(r"\b(sk|pk|rk)-[A-Za-z0-9_\-]{8,}"),
    re.compile(r"(?i)(api[_-]?key['\"]?\s*[:=]\s*['\"]?)[^\s'\",}]{6,}"),
)


def read_secret(env_name: str) -> str | None:
    """Read a key from the environment and remember it, so :func:`redact` can hide it."""
    value = os.environ.get(env_name)
    if value:
        _known.add(value)
    return value


def redact(text: str) -> str:
    """Replace every known key, and anything shaped like one, with ``***``."""
    for secret in sorted(_known, key=len, reverse=True):
        if len(secret) >= 4:
            text = text.replace(secret, "***")
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.lastindex else "") + "***", text)
    return text
