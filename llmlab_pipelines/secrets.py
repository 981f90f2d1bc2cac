"""Keep API keys out of everything we write: results, logs, metadata, exceptions.

A *configured secret* is the value of:

- every environment variable a ``models.yaml`` entry names in ``api_key_env`` (registered when
  the lab is validated, and when the key is read for a call), and every value found as a
  secret in the lab itself (refused, but remembered so no message repeats it);
- every environment variable whose name says it holds a secret (``*_API_KEY``, ``*_KEY``,
  ``*_TOKEN``, ``*_SECRET*``, ``*_PASSWORD``, ``*_CREDENTIALS``: ``AWS_SECRET_ACCESS_KEY``,
  ``MLFLOW_TRACKING_PASSWORD`` ...) and is at least 8 characters long;
- the password of a URL in an environment variable named ``*_URL``, ``*_URI`` or ``*_DSN``
  (``MLFLOW_TRACKING_URI``, ``LLMLAB_DAGSTER_PG_URL`` ...), at least 8 characters long.

Data (model outputs, cache rows, Parquet cells, reports) is scored, so it loses fewer values:
:func:`redact_values` and :func:`redact_frame` replace only the first kind, and values of the
other two kinds that :func:`looks_like_key` (``POSTGRES_PASSWORD=postgres`` is a word a model
may answer with; ``OPENAI_API_KEY=sk-...`` is not). :func:`redact` (messages, metadata,
MLflow parameters) and the log redaction replace every configured secret, and :func:`redact`
also anything shaped like a key.

Each secret is also replaced as it may be spelled inside a message: URL-encoded (``quote``,
``quote_plus``) and in base64 (standard and URL-safe) on its own, after a ``:`` (HTTP Basic
auth with no user), and after any prefix (``user:key``: the characters that depend on the key
alone; at most 2 of its first bytes share a base64 character with the prefix).
"""

from __future__ import annotations

import base64
import itertools
import logging
import os
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus, urlsplit

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
_HEX = re.compile(r"[0-9a-f]{16,}|[0-9A-F]{16,}")
_CONTEXT_PATTERNS = (
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._\-]{8,}"),
    re.compile(r"(?i)(api[_-]?key['\"]?\s*[:=]\s*['\"]?)[^\s'\",}]{6,}"),
)

_cache: dict[str, Any] = {"environ": None, "known": -1, "all": (), "data": ()}


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
    """Every configured secret and its encodings, longest first (no prefix of one survives):
    for messages and logs."""
    return _values()["all"]


def data_secret_values() -> tuple[str, ...]:
    """The configured secrets replaced in data, and their encodings, longest first: values of
    ``api_key_env`` variables, values remembered from the lab, and the other configured
    secrets that :func:`looks_like_key`."""
    return _values()["data"]


def _values() -> dict[str, Any]:
    environ = getattr(os.environ, "_data", None)
    stamp = len(_known) + len(_env_names)
    if environ is not None and _cache["known"] == stamp and environ == _cache["environ"]:
        return _cache
    data, other = set(_known), set[str]()
    for name, value in os.environ.items():
        if name in _env_names:
            if len(value) >= 4:
                data.add(value)
            continue
        secret = value if _SECRET_ENV.search(name) else _url_password(name, value)
        if secret and len(secret) >= _MIN_ENV_SECRET:
            (data if looks_like_key(secret) else other).add(secret)
    _cache.update(
        environ=dict(environ) if environ is not None else None,
        known=stamp,
        data=_with_spellings(data),
        all=_with_spellings(data | other),
    )
    return _cache


def _with_spellings(values: set[str]) -> tuple[str, ...]:
    found = set(values)
    for value in values:
        found.update(spellings(value))
    return tuple(sorted(found, key=len, reverse=True))


def spellings(value: str) -> set[str]:
    """How ``value`` may appear inside a message other than as itself: URL-encoded, and in
    base64 (standard and URL-safe) alone, after ``:`` and after a prefix of any length (the
    characters that depend on ``value`` alone). Forms shorter than 8 characters are left out.
    """
    raw = value.encode()
    forms = {quote(value, safe=""), quote(value), quote_plus(value)}
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        forms.update(encode(data).decode() for data in (raw, b":" + raw))
        for skip in (0, 1, 2):  # where a 3-byte group starts in the key, after a prefix
            tail = encode(raw[skip:]).decode()
            forms.update((tail, tail[: len(raw[skip:]) // 3 * 4]))
    return {form for form in forms if len(form) >= _MIN_ENV_SECRET and form != value}


def _url_password(name: str, url: str) -> str | None:
    """The password of a URL in a ``*_URL``, ``*_URI`` or ``*_DSN`` variable."""
    if not _URL_ENV.search(name) or "@" not in url:
        return None
    try:
        return urlsplit(url).password
    except ValueError:
        return None


def _replace(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def redact_values(text: str) -> str:
    """Replace the configured secrets that data loses (:func:`data_secret_values`) with
    ``***``, and nothing else: for model outputs, cache rows and files."""
    return _replace(text, data_secret_values())


def redact(text: str) -> str:
    """Replace every configured secret, and anything shaped like a key, with ``***``: for
    messages, logs and metadata."""
    text = _replace(text, secret_values())
    for pattern in KEY_SHAPES:
        text = pattern.sub(MASK, text)
    for pattern in _CONTEXT_PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + MASK, text)
    return text


def looks_like_key(value: str) -> bool:
    """Whether a string is shaped like a provider's or cloud's key, or holds a long random run.

    Random means a run of at least 16 hexadecimal characters (one case) with two or more
    digits, or a run (between ``_ - .``) of at least 16 characters with two or
    more digits whose character class (digit, lower, upper) changes at least every third
    character: ``3f9a1c0b7e2d4a6f`` and ``aB3dE5fG7hJ9kL1mN`` are random, ``OPENAI_API_KEY`` and
    ``OpenAIKey2024Production`` are not.
    """
    if any(pattern.search(value) for pattern in KEY_SHAPES):
        return True
    if any(sum(c.isdigit() for c in m.group(0)) >= 2 for m in _HEX.finditer(value)):
        return True
    return any(_random_run(run) for run in re.split(r"[-_.]", value))


def _random_run(run: str) -> bool:
    if len(run) < 16 or sum(c.isdigit() for c in run) < 2:
        return False
    classes = ["d" if c.isdigit() else "l" if c.islower() else "u" for c in run]
    changes = sum(a != b for a, b in itertools.pairwise(classes))
    return changes >= len(run) / 3


def redact_frame(frame: Any, columns: Iterable[str] | None = None) -> Any:
    """A DataFrame with the secrets data loses (:func:`data_secret_values`) replaced in its
    text cells.

    Returns the same frame when no cell holds a secret (the usual case: nothing is copied).
    """
    import pandas as pd

    secrets = data_secret_values()
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


def redact_json(value: Any) -> Any:
    """A JSON value (dicts, lists, scalars) with every string, keys included, redacted."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact(str(k)): redact_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_json(v) for v in value]
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
        redacted = _replace(message, secret_values())
        if redacted != message:
            record.msg, record.args = redacted, ()
        return record


def install_log_redaction() -> None:
    """Redact every log record of this process (Python logging, and Dagster's through it)."""
    if not isinstance(logging.getLogRecordFactory(), _RedactingFactory):
        logging.setLogRecordFactory(_RedactingFactory(logging.getLogRecordFactory()))
