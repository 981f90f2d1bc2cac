"""Progress: periodic lines in the Dagster log, and a terminal bar when asked for."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..engine import Engine, Progress

if TYPE_CHECKING:
    from ..resources.llm import Wallet


class ProgressLogger:
    """Logs ``done/total, rate, ETA, errors`` at most every ``every`` seconds and at the end;
    with ``bar``, also draws a progress bar on stderr (when it is a terminal)."""

    def __init__(self, log: Any, label: str, every: float = 10.0, *, bar: bool = False) -> None:
        self.log, self.label, self.every = log, label, every
        self._last = time.monotonic()
        self._bar: Any = None
        self._task: Any = None
        self._want_bar = bar and sys.stderr.isatty()

    def __call__(self, progress: Progress) -> None:
        if self._want_bar:
            self._draw(progress)
        now = time.monotonic()
        if progress.done == progress.total or now - self._last >= self.every:
            self._last = now
            self.log.info(f"{self.label}: {progress}")

    def _draw(self, progress: Progress) -> None:
        if self._bar is None:
            from rich.progress import Progress as Bar

            self._bar = Bar(transient=True)
            self._bar.start()
            self._task = self._bar.add_task(self.label, total=progress.total)
        self._bar.update(
            self._task,
            completed=progress.done,
            description=f"{self.label} ({progress.errors} errors)",
        )
        if progress.done >= progress.total:
            self._bar.stop()


def judge_engines(wallet: Wallet, log: Any) -> Callable[[str], Engine]:
    """Engines for judges by name, paying from ``wallet``, logging progress as ``judge NAME``."""
    return lambda judge: wallet.engine(ProgressLogger(log, f"judge {judge}"))
