"""The response cache: content-addressed, beside the artifacts, and the crash journal too.

Every successful call is written as one JSON line the moment it returns. On a local folder the
line is appended to this process's journal file and flushed, so a ``kill -9`` loses nothing that
finished; on an object store (S3) lines are uploaded in chunks every ``flush_every`` rows or
``flush_seconds``. A re-run reads every journal and chunk: finished calls are not paid twice.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from pathlib import Path
from typing import Any, Literal

from upath import UPath

from ..secrets import redact_values

CacheMode = Literal["use", "refresh", "off"]
FIELDS = (
    "output",
    "prompt_tokens",
    "completion_tokens",
    "cost_usd",
    "latency_s",
    "model",
    "finish_reason",
    "output_truncated",
)


class ResponseCache:
    """Cached completions keyed by :attr:`GenerationRequest.cache_key`.

    Args:
        root: The cache folder (``<artifacts>/cache`` by default): a local path or a UPath.
        flush_every: Rows per uploaded chunk on object stores.
        flush_seconds: Longest time a finished row waits for upload on object stores.
        spill: A local folder for rows an object store refused (it was down): they are read
            back like chunks, and uploaded once the store answers again, so an outage never
            makes a finished call be paid twice.
    """

    def __init__(
        self,
        root: UPath | str | os.PathLike[str],
        *,
        flush_every: int = 200,
        flush_seconds: float = 2.0,
        spill: str | os.PathLike[str] | None = None,
    ) -> None:
        self.root = root if isinstance(root, UPath) else UPath(str(root))
        self.local = self.root.protocol in ("", "file", "local")
        self.flush_every, self.flush_seconds = flush_every, flush_seconds
        self._name = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self._file: Any = None
        self._buffer: list[str] = []
        self._last_flush = time.monotonic()
        self._chunk = 0
        self.writes = 0
        self.spill = Path(spill) if spill is not None and not self.local else None
        self.spilled = 0  # rows kept locally while the object store was unreachable

    def load(self, keys: set[str]) -> dict[str, dict[str, Any]]:
        """Every cached row whose key is in ``keys`` (other rows are skipped, memory stays low)."""
        found: dict[str, dict[str, Any]] = {}
        if not keys:
            return found
        paths: list[Any] = sorted(self.root.glob("*.jsonl")) if self.root.exists() else []
        if self.spill is not None and self.spill.is_dir():
            paths += sorted(self.spill.glob("*.jsonl"))
        for path in paths:
            with path.open("r", encoding="utf-8") as fh:
                for line in fh:
                    key = line[9:73] if line.startswith('{"key": "') else None
                    if key is not None and key not in keys:
                        continue
                    try:
                        row = json.loads(line)
                    except json.JSONDecodeError:  # a line cut by a crash: skip it
                        continue
                    if row.get("key") in keys:
                        found[row["key"]] = row
        return found

    def put(self, key: str, row: dict[str, Any]) -> None:
        """Record one finished call (durable at once locally; within seconds on S3)."""
        fields = {f: row.get(f) for f in FIELDS}
        for name, value in fields.items():  # a provider that echoed a key: never stored
            if isinstance(value, str):
                fields[name] = redact_values(value)
        line = json.dumps({"key": key, **fields}, default=str) + "\n"
        self.writes += 1
        if self.local:
            if self._file is None:
                self.root.mkdir(parents=True, exist_ok=True)
                journal = (self.root / f"journal-{self._name}.jsonl").path  # a local path
                self._file = open(  # noqa: SIM115 - kept open for the engine's lifetime
                    journal, "a", encoding="utf-8"
                )
            self._file.write(line)
            self._file.flush()
            return
        self._buffer.append(line)
        if (
            len(self._buffer) >= self.flush_every
            or time.monotonic() - self._last_flush >= self.flush_seconds
        ):
            self.flush()

    def flush(self) -> None:
        """Upload buffered rows (object stores); a no-op locally."""
        if self._buffer:
            data = "".join(self._buffer)
            target = self.root / f"chunk-{self._name}-{self._chunk:06d}.jsonl"
            self._chunk += 1
            try:
                target.write_text(data, encoding="utf-8")
            except Exception:
                if self.spill is None:
                    raise
                self.spill.mkdir(parents=True, exist_ok=True)
                (self.spill / target.name).write_text(data, encoding="utf-8")
                self.spilled += len(self._buffer)
            else:
                self._upload_spilled()
            self._buffer.clear()
        self._last_flush = time.monotonic()

    def _upload_spilled(self) -> None:
        """Rows kept locally during an outage go up once the store answers again."""
        if self.spill is None or not self.spill.is_dir():
            return
        for path in sorted(self.spill.glob("*.jsonl")):
            try:
                (self.root / path.name).write_text(path.read_text(encoding="utf-8"))
            except Exception:
                return  # still down: try again at the next flush
            path.unlink(missing_ok=True)

    def close(self) -> None:
        """Flush and close."""
        self.flush()
        if self._file is not None:
            self._file.close()
            self._file = None
