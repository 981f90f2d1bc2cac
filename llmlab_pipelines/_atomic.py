"""Atomic writes on any fsspec file system (pure: no Dagster, no resources)."""

from __future__ import annotations

import uuid

from upath import UPath


def write_atomic(path: UPath, data: bytes) -> None:
    """Write so that no reader ever sees a half-written file.

    Local files go to a temporary name and are renamed; object stores make a PUT visible only
    once it is complete.
    """
    if path.protocol in ("", "file", "local"):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        tmp.write_bytes(data)
        tmp.rename(path)
    else:
        path.write_bytes(data)
