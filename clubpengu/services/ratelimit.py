"""Token buckets keyed by string (a connection id, a client IP, a wallet)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from clubpengu.realtime.counters.base import CountersUnavailable, SharedCounters

logger = logging.getLogger(__name__)


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """`rate` events per `per` seconds with bursts up to `burst` (default `rate`).

    A rate of 0 turns the limiter off. Idle buckets are pruned as they fill back up, so
    memory stays proportional to the keys active in the last `per` seconds.
    """

    def __init__(
        self,
        rate: float,
        per: float,
        *,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        self.enabled = rate > 0
        self.refill = rate / per if self.enabled else 0.0
        self.burst = burst if burst is not None else rate
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}

    def allow(self, key: str, cost: float = 1.0) -> bool:
        if not self.enabled:
            return True
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_keys:
                self._prune(now)
            bucket = self._buckets[key] = _Bucket(self.burst, now)
        else:
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.refill)
            bucket.updated = now
        if bucket.tokens >= cost:
            bucket.tokens -= cost
            return True
        return False

    def forget(self, key: str) -> None:
        self._buckets.pop(key, None)

    def _prune(self, now: float) -> None:
        full = [
            key
            for key, bucket in self._buckets.items()
            if bucket.tokens + (now - bucket.updated) * self.refill >= self.burst
        ]
        for key in full:
            del self._buckets[key]


class TokenBucket:
    """One key's bucket, for state that already lives per connection (no dict, no pruning).

    `rate` events per `per` seconds with bursts up to `burst` (default `rate`); a rate of 0
    allows everything.
    """

    __slots__ = ("burst", "enabled", "refill", "tokens", "updated")

    def __init__(self, rate: float, per: float, now: float, burst: float | None = None) -> None:
        self.enabled = rate > 0
        self.refill = rate / per if self.enabled else 0.0
        self.burst = burst if burst is not None else float(rate)
        self.tokens = self.burst
        self.updated = now

    def allow(self, now: float, cost: float = 1.0) -> bool:
        if not self.enabled:
            return True
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.refill)
        self.updated = now
        if self.tokens >= cost:
            self.tokens -= cost
            return True
        return False


class SignInLimits:
    """Sign-in attempts are limited per connection and per client IP (AUTH_RATE_*, per
    minute), over the WebSocket and HTTP alike. With `shared` counters (REDIS_URL) the
    per-IP limit holds across every node, in one round trip an attempt; when they cannot
    answer, this node counts alone (and says so once in the log)."""

    WINDOW = 60.0

    def __init__(
        self, per_ip: float, per_connection: float, shared: SharedCounters | None = None
    ) -> None:
        self.rate_per_ip = per_ip
        self.per_ip = RateLimiter(per_ip, self.WINDOW)
        self.per_connection = RateLimiter(per_connection, self.WINDOW)
        self.shared = shared
        self._shared_down = False

    async def allow(self, connection_key: str | None, ip: str) -> bool:
        """Whether one more attempt is allowed; `connection_key` None for HTTP."""
        if connection_key is not None and not self.per_connection.allow(connection_key):
            return False
        if not self.per_ip.enabled:
            return True
        if self.shared is not None:
            try:
                allowed = await self.shared.take(f"signin:{ip}", self.rate_per_ip, self.WINDOW)
            except CountersUnavailable as error:
                if not self._shared_down:
                    self._shared_down = True
                    logger.warning(
                        "shared sign-in limits unreachable; counting on this node only",
                        extra={"error": str(error)},
                    )
            else:
                self._shared_down = False
                return allowed
        return self.per_ip.allow(ip)
