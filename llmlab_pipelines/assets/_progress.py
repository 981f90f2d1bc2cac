"""Periodic progress lines in the Dagster log."""

from __future__ import annotations

import time
from typing import Any

from ..engine import Progress


class ProgressLogger:
    """Logs ``done/total, rate, ETA, errors`` at most every ``every`` seconds, and at the end."""

    def __init__(self, log: Any, label: str, every: float = 10.0) -> None:
        self.log, self.label, self.every = log, label, every
        self._last = time.monotonic()

    def __call__(self, progress: Progress) -> None:
        now = time.monotonic()
        if progress.done == progress.total or now - self._last >= self.every:
            self._last = now
            self.log.info(f"{self.label}: {progress}")
