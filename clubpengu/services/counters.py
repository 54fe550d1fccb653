"""Counters per key and UTC day (how many new wallets one address made today …), shared by
every node through Redis when REDIS_URL is set, else kept in this process.

Why not the database: a count is asked for on a hot path (a sign-up), must hold across
nodes, and need not survive anything: a lost count only lets a few more through. With
one node (no REDIS_URL) the count lives in memory, so a restart forgets the day's; with
many nodes Redis is already there. When Redis cannot be reached the count is not
taken and the caller is let through: a limit on sign-ups is not worth refusing every
new player while Redis is down.

`NewAccountLimit` (NEW_ACCOUNTS_PER_IP_PER_DAY) is the first user: keyed by the address's
keyed hash (services/auth.py `hash_ip`), never the address itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from clubpengu.models.base import utcnow
from clubpengu.realtime.names import count_key

logger = logging.getLogger(__name__)
KEEP_SECONDS = 2 * 86400  # a day's count outlives its day by this in Redis


class DailyCounter(Protocol):
    async def hit(self, name: str, key: str, day: str) -> int:
        """Add one to `name`'s count of `key` on `day` (YYYY-MM-DD) and return the count;
        0 when the count could not be taken."""
        ...


class MemoryDailyCounter:
    """One node's counts; only the newest day is kept."""

    def __init__(self) -> None:
        self.day = ""
        self.counts: dict[tuple[str, str], int] = {}

    async def hit(self, name: str, key: str, day: str) -> int:
        if day != self.day:
            if day < self.day:
                return 0  # an old day's count is not asked for; nothing to keep
            self.day, self.counts = day, {}
        count = self.counts[name, key] = self.counts.get((name, key), 0) + 1
        return count


class RedisLike(Protocol):
    def pipeline(self, transaction: bool = True) -> Any: ...


class RedisDailyCounter:
    """Counts in Redis: INCR and EXPIRE in one MULTI, a key per name, day and key."""

    def __init__(self, client: RedisLike, timeout: float) -> None:
        self.client = client
        self.timeout = timeout

    async def hit(self, name: str, key: str, day: str) -> int:
        redis_key = count_key(name, day, key)
        try:
            async with asyncio.timeout(self.timeout):
                pipe = self.client.pipeline(transaction=True)
                pipe.incr(redis_key)
                pipe.expire(redis_key, KEEP_SECONDS)
                count, _ = await pipe.execute()
        except Exception as error:
            logger.warning("counter unavailable; not counted",
                           extra={"counter": name, "error": type(error).__name__})  # fmt: skip
            return 0
        return int(count)


class NewAccountLimit:
    """At most `per_day` new wallets per client address and UTC day (0: no limit)."""

    NAME = "new_accounts"

    def __init__(
        self,
        counter: DailyCounter,
        per_day: int,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.counter = counter
        self.per_day = per_day
        self.clock = clock

    async def allow(self, ip_hash: str) -> bool:
        """Count one more new wallet from this address; whether it is within the limit."""
        if self.per_day <= 0:
            return True
        day = self.clock().astimezone(UTC).date().isoformat()
        return await self.counter.hit(self.NAME, ip_hash, day) <= self.per_day
