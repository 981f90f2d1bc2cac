"""Keep API keys out of everything we write: results, logs, metadata, exceptions.

A *configured secret* is the value of:

- every environment variable a ``models.yaml`` entry names in ``api_key_env`` (registered when
  the lab is validated, and when the key is read for a call);
- every environment variable whose name says it holds a secret (``*_API_KEY``, ``*_KEY``,
  ``*_TOKEN``, ``*_SECRET*``, ``*_PASSWORD``, ``*_CREDENTIALS``: ``AWS_SECRET_ACCESS_KEY``,
  ``MLFLOW_TRACKING_PASSWORD`` ...) and is at least 8 characters long;
- the password of a URL in an environment variable named ``*_URL``, ``*_URI`` or ``*_DSN``
  (``MLFLOW_TRACKING_URI``, ``LLMLAB_DAGSTER_PG_URL`` ...).

:func:`redact_values` replaces those values (for data: model outputs, Parquet cells);
:func:`redact` also replaces anything shaped like a key (for messages, logs and metadata).
"""

from __future__ import annotations

import itertools
import logging
import os
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

MASK = "***"
_MIN_ENV_SECRET = 8

_known: set[str] = set()  # values read as keys, or found as secrets in a lab
_env_names: set[str] = set()  # environment variables named by api_key_env
_SECRET_ENV = re.compile(
    r"(?:^|_)(?:API_?KEY|KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS?)(?:$|_)", re.IGNORECASE
)
_URL_ENV = re.compile(r"_(?:URL|URI|DSN)$", re.IGNORECASE)
# shapes of keys issued by providers and clouds: OpenAI/Anthropic/Groq/xAI, Hugging Face,
# Google, GitHub, Slack, AWS access keys, GitLab
KEY_SHAPES = (
    re.compile(r"\b(?:sk|pk|rk|gsk|xai)[-_][A-Za-z0-9_\-]{8,}"),
    re.compile(r"\bhf_[A-Za-z0-9]{20,}"),
    re.compile(r"\bAIza[0-9A-Za-z_\-]{30,}"),
    re.compile(r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}|\bgithub_pat_[A-Za-z0-9_]{20,}"),
    re.compile(r"\bxox[abpors]-[A-Za-z0-9\-]{10,}"),
    re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    re.compile(r"\bglpat-[A-Za-z0-9_\-]{16,}"),
)
_CONTEXT_PATTERNS = (
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._\-]{8,}"),
    re.compile(r"(?i)(api[_-]?key['\"]?\s*[:=]\s*['\"]?)[^\s'\",}]{6,}"),
)

_cache: dict[str, Any] = {"environ": None, "known": -1, "values": ()}


def read_secret(env_name: str) -> str | None:
    """Read a key from the environment and remember it, so :func:`redact` can hide it."""
    value = os.environ.get(env_name)
    if value:
        remember(value)
    return value


def watch_env(env_name: str) -> None:
    """Treat the value of ``env_name`` (now or later) as a secret: ``api_key_env`` names."""
    _env_names.add(env_name)
    install_log_redaction()


def remember(value: str) -> None:
    """Treat ``value`` itself as a secret from now on (e.g. a key found in a lab file)."""
    if len(value) >= 4:
        _known.add(value)
        install_log_redaction()


def secret_values() -> tuple[str, ...]:
    """Every configured secret value, longest first (so a key's prefix never survives)."""
    environ = getattr(os.environ, "_data", None)
    if (
        environ is not None
        and _cache["known"] == len(_known) + len(_env_names)
        and environ == _cache["environ"]
    ):
        return _cache["values"]
    found = set(_known)
    for name, value in os.environ.items():
        named = name in _env_names and len(value) >= 4
        if named or (_SECRET_ENV.search(name) and len(value) >= _MIN_ENV_SECRET):
            found.add(value)
        elif _URL_ENV.search(name) and "@" in value:
            password = _url_password(value)
            if password and len(password) >= _MIN_ENV_SECRET:
                found.add(password)
    values = tuple(sorted(found, key=len, reverse=True))
    _cache.update(
        environ=dict(environ) if environ is not None else None,
        known=len(_known) + len(_env_names),
        values=values,
    )
    return values


def _url_password(url: str) -> str | None:
    try:
        return urlsplit(url).password
    except ValueError:
        return None


def redact_values(text: str) -> str:
    """Replace every configured secret value with ``***`` (and nothing else: for data)."""
    for secret in secret_values():
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def redact(text: str) -> str:
    """Replace every configured secret, and anything shaped like a key, with ``***``."""
    text = redact_values(text)
    for pattern in KEY_SHAPES:
        text = pattern.sub(MASK, text)
    for pattern in _CONTEXT_PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + MASK, text)
    return text


def looks_like_key(value: str) -> bool:
    """Whether a string is shaped like a provider's or cloud's key, or holds a long random run.

    Random means a run (between ``_ - .``) of at least 16 characters with two or more digits
    whose character class (digit, lower, upper) changes at least every third character:
    ``3f9a1c0b7e2d4a6f`` is random, ``OPENAI_API_KEY`` and ``OpenAIKey2024Production`` are not.
    """
    if any(pattern.search(value) for pattern in KEY_SHAPES):
        return True
    return any(_random_run(run) for run in re.split(r"[-_.]", value))


def _random_run(run: str) -> bool:
    if len(run) < 16 or sum(c.isdigit() for c in run) < 2:
        return False
    classes = ["d" if c.isdigit() else "l" if c.islower() else "u" for c in run]
    changes = sum(a != b for a, b in itertools.pairwise(classes))
    return changes >= len(run) / 3


def redact_frame(frame: Any, columns: Iterable[str] | None = None) -> Any:
    """A DataFrame with every configured secret replaced in its text cells.

    Returns the same frame when no cell holds a secret (the usual case: nothing is copied).
    """
    import pandas as pd

    secrets = secret_values()
    if not secrets or not len(frame):
        return frame
    pattern = "|".join(re.escape(s) for s in secrets)
    out = frame
    for column in columns if columns is not None else frame.columns:
        series = frame[column]
        if not (pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series)):
            continue
        text = series.map(lambda v: isinstance(v, str))
        hits = text & series.where(text, "").astype(str).str.contains(pattern, regex=True)
        if hits.any():
            out = out.copy() if out is frame else out
            out.loc[hits, column] = series[hits].map(redact_values)
    return out


def redact_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    """Dagster metadata with every text, Markdown and JSON value redacted."""
    import dagster as dg

    out: dict[str, Any] = {}
    for key, value in metadata.items():
        if isinstance(value, str):
            value = redact(value)
        elif isinstance(value, dg.MarkdownMetadataValue):
            value = dg.MetadataValue.md(redact(value.md_str or ""))
        elif isinstance(value, dg.TextMetadataValue):
            value = dg.MetadataValue.text(redact(value.text or ""))
        elif isinstance(value, dg.JsonMetadataValue):
            value = dg.MetadataValue.json(_redact_json(value.data))
        out[key] = value
    return out


def _redact_json(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact(str(k)): _redact_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_json(v) for v in value]
    return value


class _RedactingFactory:
    """Wraps the log record factory: every record's message is redacted when it is made."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record: logging.LogRecord = self.inner(*args, **kwargs)
        if not secret_values():
            return record
        try:
            message = record.getMessage()
        except Exception:  # a malformed log call: leave it to logging's own error report
            return record
        redacted = redact_values(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return record


def install_log_redaction() -> None:
    """Redact every log record of this process (Python logging, and Dagster's through it)."""
    if not isinstance(logging.getLogRecordFactory(), _RedactingFactory):
        logging.setLogRecordFactory(_RedactingFactory(logging.getLogRecordFactory()))
