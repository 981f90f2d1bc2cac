"""Rate limits and adaptive concurrency for one model.

- ``SlidingWindowLimiter``: at most ``limit`` units in any window of ``period`` seconds, with
  requests spaced ``period / limit`` apart so bursts never cluster at a window's start.
- ``RedisWindowLimiter``: the same rule shared by every process that names the same key (for
  several Dagster runs calling one provider).
- ``AdaptiveGate``: AIMD concurrency: halve on a 429, grow by one after a window of successes.

Why not ``aiolimiter``: its ``AsyncLimiter`` is a leaky bucket that lets a full bucket through
at once and then drains, so any 60-second window may see up to twice the limit (a provider's
per-minute token limit answers that with 429s); it refuses a request larger than the limit
(here one oversized request goes alone) and cannot share a limit across processes. Only the
request limit could use it (``AsyncLimiter(1, period / limit)`` spaces calls the same way), and
the window limiter would stay for tokens, so it would remove no code.
"""

from __future__ import annotations

import asyncio
import collections
import time
import uuid
from typing import Any, Protocol


class Limiter(Protocol):
    """Waits until ``units`` may be spent now."""

    async def acquire(self, units: float = 1.0) -> None:
        """Block until allowed; then the units count as spent."""
        ...


class SlidingWindowLimiter:
    """At most ``limit`` units per ``period`` seconds in any half-open window, evenly spaced.

    Args:
        limit: Units allowed per period (requests, or tokens).
        period: The window in seconds (60 for per-minute limits).
        spacing: Also space acquisitions ``period / limit`` apart (for request limits).
    """

    def __init__(self, limit: float, period: float = 60.0, *, spacing: bool = True) -> None:
        if limit <= 0:
            raise ValueError(f"limit must be > 0, got {limit}")
        self.limit, self.period = float(limit), float(period)
        self.interval = self.period / self.limit if spacing else 0.0
        self._events: collections.deque[tuple[float, float]] = collections.deque()
        self._spent = 0.0
        self._next = 0.0
        self._lock = asyncio.Lock()

    def _wait(self, now: float, units: float) -> float:
        while self._events and now - self._events[0][0] >= self.period:
            self._spent -= self._events.popleft()[1]
        wait = max(0.0, self._next - now)
        spent = self._spent
        for at, used in self._events:  # oldest first: when enough of the window has expired
            if spent + units <= self.limit:
                break
            spent -= used
            wait = max(wait, at + self.period - now)
        return wait

    async def acquire(self, units: float = 1.0) -> None:
        """Wait for room, then record the units."""
        units = min(float(units), self.limit)  # one oversized request still goes, alone
        async with self._lock:
            while True:
                now = time.monotonic()
                wait = self._wait(now, units)
                if wait <= 0:
                    break
                await asyncio.sleep(wait)
            self._events.append((now, units))
            self._spent += units
            self._next = now + self.interval * units if self.interval else now


_REDIS_SCRIPT = """
local key, now, period, limit, interval, member = KEYS[1], tonumber(ARGV[1]),
  tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - period)
local nxt = tonumber(redis.call('GET', key .. ':next') or '0')
if nxt > now then return tostring(nxt - now) end
local count = redis.call('ZCARD', key)
if count >= limit then
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  return tostring(tonumber(oldest[2]) + period - now)
end
redis.call('ZADD', key, now, member)
redis.call('SET', key .. ':next', tostring(now + interval), 'PX', math.ceil(period * 1000))
redis.call('PEXPIRE', key, math.ceil(period * 1000))
return '0'
"""


class RedisWindowLimiter:
    """A request limit shared across processes through Redis (sorted set + Lua, atomic).

    Args:
        url: ``redis://host:port/db``.
        key: Shared name, e.g. the provider and model.
        limit: Requests per period.
        period: Window in seconds.
    """

    def __init__(self, url: str, key: str, limit: float, period: float = 60.0) -> None:
        import redis.asyncio as aredis

        self._redis: Any = aredis.from_url(url)
        self._script = self._redis.register_script(_REDIS_SCRIPT)
        if not limit > 0:
            raise ValueError(f"a rate limit must be above 0, got {limit}")
        # whole requests per window: a fractional limit keeps its rate over a longer window
        # (0.5 per 60 s -> 1 per 120 s; 2.5 per 60 s -> 2 per 48 s)
        count = max(1, int(limit))
        self.key, self.limit = f"llmlab:rate:{key}", count
        self.period = float(period) * count / limit
        self.interval = self.period / self.limit

    async def acquire(self, units: float = 1.0) -> None:
        """Wait until the shared window has room for one request."""
        while True:
            # Redis server time keeps every process on one clock.
            seconds, micros = await self._redis.time()
            now = seconds + micros / 1e6
            wait = float(
                await self._script(
                    keys=[self.key],
                    args=[now, self.period, self.limit, self.interval, uuid.uuid4().hex],
                )
            )
            if wait <= 0:
                return
            await asyncio.sleep(wait)


class AdaptiveGate:
    """Concurrency that backs off on rate limits (AIMD) and recovers after successes.

    Args:
        ceiling: The configured concurrency (never exceeded).
        cooldown: Minimum seconds between two decreases (one burst of 429s halves once).
    """

    def __init__(self, ceiling: int, *, cooldown: float = 1.0) -> None:
        self.ceiling = max(1, ceiling)
        self.limit = self.ceiling
        self.cooldown = cooldown
        self.in_use = 0
        self.decreases = 0
        self._streak = 0
        self._last_decrease = -1e9
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    async def __aenter__(self) -> AdaptiveGate:
        while self.in_use >= self.limit:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            await waiter
        self.in_use += 1
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.in_use -= 1
        self._wake()

    def _wake(self) -> None:
        free = self.limit - self.in_use
        while free > 0 and self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                free -= 1

    def rate_limited(self) -> None:
        """A 429: halve the limit (at most once per cooldown)."""
        now = time.monotonic()
        if now - self._last_decrease >= self.cooldown:
            self.limit = max(1, self.limit // 2)
            self._last_decrease = now
            self.decreases += 1
        self._streak = 0

    def succeeded(self) -> None:
        """A success: after ``limit`` of them in a row, allow one more in flight."""
        self._streak += 1
        if self._streak >= self.limit and self.limit < self.ceiling:
            self.limit += 1
            self._streak = 0
            self._wake()
