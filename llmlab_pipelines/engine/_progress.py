"""Progress counts of an engine run, for progress bars and log lines."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class Progress:
    """Counts for progress bars and log lines."""

    total: int
    done: int = 0
    errors: int = 0
    cached: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def rate(self) -> float:
        """Finished requests per second so far."""
        elapsed = time.monotonic() - self.started
        return self.done / elapsed if elapsed > 0 else 0.0

    @property
    def eta_s(self) -> float | None:
        """Seconds left at the current rate."""
        return (self.total - self.done) / self.rate if self.rate > 0 else None

    def __str__(self) -> str:
        eta = f"{self.eta_s:.0f}s" if self.eta_s is not None else "?"
        return (
            f"{self.done}/{self.total} done ({self.cached} cached), {self.rate:.1f} req/s, "
            f"ETA {eta}, {self.errors} errors"
        )
