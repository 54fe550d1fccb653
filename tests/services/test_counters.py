"""Daily counters (services/counters.py): in memory for one node, in a real Redis for many,
and what happens when Redis is out of reach."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from redis.asyncio import Redis

from clubpengu.services.counters import MemoryDailyCounter, NewAccountLimit, RedisDailyCounter
from tests.redis_server import RedisServer, running_redis


async def test_a_memory_count_grows_per_key_and_starts_again_each_day() -> None:
    counter = MemoryDailyCounter()

    counts = [await counter.hit("n", "a", "2027-01-04") for _ in range(3)]
    other = await counter.hit("n", "b", "2027-01-04")
    next_day = await counter.hit("n", "a", "2027-01-05")
    old_day = await counter.hit("n", "a", "2027-01-04")

    assert counts == [1, 2, 3] and other == 1 and next_day == 1
    assert old_day == 0  # an old day is not counted, nor kept
    assert counter.counts == {("n", "a"): 1}


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    with running_redis(tmp_path / "redis") as server:
        yield server


async def test_redis_counts_are_shared_by_every_counter_and_expire(own_redis: RedisServer) -> None:
    first, second = Redis.from_url(own_redis.url), Redis.from_url(own_redis.url)
    one, two = RedisDailyCounter(first, 1.0), RedisDailyCounter(second, 1.0)

    counts = [await one.hit("n", "k", "2027-01-04"), await two.hit("n", "k", "2027-01-04")]
    ttl = await first.ttl("count:n:2027-01-04:k")
    await first.aclose()
    await second.aclose()

    assert counts == [1, 2]
    assert 0 < ttl <= 2 * 86400


async def test_without_redis_nothing_is_counted_and_new_accounts_are_let_through(
    tmp_path: Path,
) -> None:
    server = RedisServer(tmp_path / "gone")  # never started: nothing listens on its port
    client = Redis.from_url(server.url, socket_connect_timeout=0.2)
    limit = NewAccountLimit(
        RedisDailyCounter(client, 0.5), 1, lambda: datetime(2027, 1, 4, tzinfo=UTC)
    )

    allowed = [await limit.allow("hash") for _ in range(3)]
    await client.aclose()

    assert allowed == [True, True, True]


async def test_the_new_account_limit_counts_per_address_and_day() -> None:
    now = [datetime(2027, 1, 4, 23, 59, tzinfo=UTC)]
    limit = NewAccountLimit(MemoryDailyCounter(), 2, lambda: now[0])

    first_day = [await limit.allow("a") for _ in range(3)]
    other_address = await limit.allow("b")
    now[0] = datetime(2027, 1, 5, 0, 1, tzinfo=UTC)
    next_day = await limit.allow("a")
    unlimited = NewAccountLimit(MemoryDailyCounter(), 0)

    assert first_day == [True, True, False] and other_address and next_day
    assert all([await unlimited.allow("a") for _ in range(50)])
