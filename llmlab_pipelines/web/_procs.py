"""Child processes: find every descendant and make sure none outlives its parent."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

#: A process as (pid, start time in clock ticks): a pid reused later is not the same process.
Proc = tuple[int, int]


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, start time) from ``/proc/<pid>/stat``, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()  # the name may hold spaces and parentheses
    if fields[0] == "Z":
        return None  # a zombie has exited already
    return int(fields[1]), int(fields[19])


def descendants(pid: int) -> list[Proc]:
    """Every living descendant of ``pid`` (Linux ``/proc``; elsewhere none are found)."""
    parents: dict[int, list[Proc]] = {}
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else []:
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            parents.setdefault(stat[0], []).append((int(entry.name), stat[1]))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child[0])
    return found


def alive(proc: Proc) -> bool:
    """Whether this very process (not a later one with its pid) still runs."""
    stat = _stat(proc[0])
    return stat is not None and stat[1] == proc[1]


def stop(procs: list[Proc], timeout: float = 10.0) -> None:
    """SIGTERM the processes still alive, then SIGKILL those that outlive ``timeout``."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        left = [p for p in procs if alive(p)]
        for pid, _ in left:
            with contextlib.suppress(OSError):
                os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while left and time.monotonic() < deadline:
            time.sleep(0.1)
            left = [p for p in left if alive(p)]
        if not left:
            return
