"""Machine-wide locks so two runs of the same partition do not pay for the same calls.

Two runs materializing an overlapping partition at once (a sensor run and a manual one, two
`llmlab run`s) would each ask every call the cache does not hold yet. The first takes the
partition's lock; the second waits for it and then finds every answer in the cache. Across
machines, Dagster's run queue and concurrency pools keep partitions apart (see the README).
"""

from __future__ import annotations

import fcntl
import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from .settings import get_settings


@contextmanager
def partition_lock(name: str, *, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the exclusive lock of ``name`` (released when the process dies, even by kill -9)."""
    folder = get_settings().home / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{hashlib.sha256(name.encode()).hexdigest()[:20]}.lock"
    with open(path, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait(
                    f"{name}: another run on this machine is making these calls; waiting for "
                    "it, then its answers come from the cache"
                )
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
