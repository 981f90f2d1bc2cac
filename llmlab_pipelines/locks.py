"""Machine-wide locks so two runs of the same partition do not pay for the same calls.

Why not the run queue alone: ``llmlab run`` executes the project's jobs in its own process
(``execute_in_process``), so its runs never pass through Dagster's run queue, and the queue's
``tag_concurrency_limits`` and concurrency pools cannot keep a CLI run and a UI, sensor or
schedule run of the same partition apart (nor two ``llmlab run``s). Each would ask every call the
cache does not hold yet. So the assets that pay take the partition's lock: the first run holds
it; the second waits and then finds every answer in the cache. Runs launched through the queue
are kept apart across machines by the queue and its pools (see the README); in-process runs on
different machines are not. The same lock file mechanism keeps partition registration
(:func:`llmlab_pipelines.partitions.register_partitions`) and the first creation of the local
Dagster instance (:func:`llmlab_pipelines.runner.dagster_instance`) to one process at a time.
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
