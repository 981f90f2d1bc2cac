"""Spending limits and circuit breakers: stop before overspending, fail fast on a dead provider."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from ..secrets import redact

#: How much of the first underlying error an open breaker repeats.
_CAUSE_CHARS = 500

log = logging.getLogger("llmlab.engine")


@dataclass
class Budget:
    """A cap on what one run may spend, enforced before each call.

    A call is made only if what is spent, plus the estimates of the calls in flight, plus its own
    estimate stays within the limit; so the limit is never overshot by more than the difference
    between the in-flight calls' estimates and what they really cost.

    Args:
        limit_usd: The most this run may spend.
        label: How error messages name the budget (``experiment 'x' run budget``).
        spent_usd: Already spent (e.g. earlier today, for a period budget).
    """

    limit_usd: float
    label: str = "run budget"
    spent_usd: float = 0.0
    reserved_usd: float = 0.0
    refused: int = 0

    def try_reserve(self, estimate: float) -> bool:
        """Reserve ``estimate`` for a call about to be made; False (and nothing reserved) when it
        would not fit."""
        if self.spent_usd + self.reserved_usd + estimate > self.limit_usd + 1e-12:
            self.refused += 1
            return False
        self.reserved_usd += estimate
        return True

    def settle(self, estimate: float, actual: float) -> None:
        """A reserved call finished: release its estimate, count what it really cost."""
        self.reserved_usd = max(0.0, self.reserved_usd - estimate)
        self.spent_usd += actual

    def refusal(self, estimate: float) -> str:
        """The reason a call was not made."""
        return (
            f"{self.label} of ${self.limit_usd:.4f} reached: spent ${self.spent_usd:.4f}, "
            f"${self.reserved_usd:.4f} in flight; this call (est. ${estimate:.4f}) was not made. "
            "Finished results are saved; raise the budget and re-run to continue."
        )


@dataclass
class Usage:
    """What calls really cost, tallied where they are made (cached answers are free).

    One tally may be shared by several engines (a generation engine and its judges' engines),
    so that what they spent together is recorded once.
    """

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, *, calls: int, prompt_tokens: int, completion_tokens: int, cost: float) -> None:
        """Count one request's provider calls (every attempt) and what they cost."""
        with self._lock:
            self.calls += calls
            self.prompt_tokens += prompt_tokens
            self.completion_tokens += completion_tokens
            self.cost_usd += cost


@dataclass
class CircuitBreaker:
    """Per model: after ``threshold`` consecutive failed calls it opens and calls fail fast;
    after ``cooldown_s`` one probe call is let through, and its success closes it again.

    The first error of the run of failures is kept (``first_error``, redacted), so that what a
    call refused by the open breaker reports names the real cause (e.g. missing credentials).
    """

    name: str
    threshold: int = 10
    cooldown_s: float = 30.0
    failures: int = 0
    opened_at: float | None = None
    probing: bool = False
    times_opened: int = 0
    events: list[str] = field(default_factory=list)
    first_error: str | None = None  # the first failure since the last success (redacted)

    @property
    def state(self) -> str:
        """closed, open or half-open."""
        if self.opened_at is None:
            return "closed"
        return "half-open" if self.probing or self._cooled() else "open"

    def _cooled(self) -> bool:
        return self.opened_at is not None and time.monotonic() - self.opened_at >= self.cooldown_s

    def allow(self) -> bool:
        """Whether a call may go out now (the single probe when half-open)."""
        if self.opened_at is None:
            return True
        if self._cooled() and not self.probing:
            self.probing = True
            self._note(f"half-open: probing {self.name}")
            return True
        return False

    def success(self) -> None:
        """A call succeeded."""
        if self.opened_at is not None:
            self._note(f"closed: {self.name} answered the probe")
        self.failures, self.opened_at, self.probing = 0, None, False
        self.first_error = None

    def failure(self, error: str | None = None) -> None:
        """A call failed (server error, timeout, dropped connection, malformed reply).

        Args:
            error: What the call failed with; the first one since the last success is kept.
        """
        if self.first_error is None and error:
            self.first_error = redact(error)[:_CAUSE_CHARS]
        self.failures += 1
        if self.probing:
            self.probing, self.opened_at = False, time.monotonic()
            self._note(f"open again: the probe to {self.name} failed")
        elif self.opened_at is None and self.failures >= self.threshold:
            self.opened_at = time.monotonic()
            self.times_opened += 1
            self._note(
                f"open: {self.failures} consecutive failures from {self.name}{self._cause()}"
            )

    def reason(self) -> str:
        """Why a call failed fast, naming the first underlying error."""
        left = max(0.0, self.cooldown_s - (time.monotonic() - (self.opened_at or 0.0)))
        return (
            f"circuit breaker open for {self.name} after {self.failures} consecutive failures"
            f"{self._cause()}; not called (next probe in {left:.0f}s)"
        )

    def _cause(self) -> str:
        return f" (the first: {self.first_error})" if self.first_error else ""

    def _note(self, text: str) -> None:
        self.events.append(text)
        log.warning("circuit breaker %s", text)
