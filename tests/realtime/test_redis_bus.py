"""The Redis bus when Redis goes away: publishing never raises or waits, the loss is
noticed (also when Redis only stops answering), and subscriptions come back by
themselves. Each test runs its own redis-server, which it stops or pauses."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis

from clubpengu.realtime.bus.backends.redis import RedisBus
from tests.realtime.test_bus import take
from tests.redis_server import RedisServer, running_redis
from tests.waiting import eventually


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    with running_redis(tmp_path / "redis") as server:
        yield server


def _bus(server: RedisServer) -> RedisBus:
    return RedisBus(server.url, timeout=0.5, reconnect_min=0.05, reconnect_max=0.2)


@pytest.fixture
async def bus(own_redis: RedisServer) -> AsyncIterator[RedisBus]:
    bus = _bus(own_redis)
    await bus.connect()
    yield bus
    await bus.disconnect()


def _subscribers(server: RedisServer, channel: str) -> int:
    with redis.Redis.from_url(server.url) as check:
        return int(check.pubsub_numsub(channel)[0][1])


async def test_publishing_while_redis_is_down_drops_and_counts_without_raising(
    bus: RedisBus, own_redis: RedisServer
) -> None:
    own_redis.stop()
    await eventually(lambda: not bus.up)

    for _ in range(50):
        await bus.publish("room:plaza", b"lost")

    assert bus.dropped >= 50
    assert not await bus.healthy()


async def test_a_subscription_comes_back_after_redis_restarts(
    bus: RedisBus, own_redis: RedisServer
) -> None:
    reconnected = asyncio.Event()

    async def on_reconnect() -> None:
        reconnected.set()

    bus.on_reconnect.append(on_reconnect)
    other = _bus(own_redis)
    async with bus.subscribe("room:dock") as messages:
        own_redis.stop()
        await eventually(lambda: not bus.up)
        own_redis.start()
        await eventually(lambda: bus.up)
        await other.connect()
        await other.publish("room:dock", b"after the restart")
        received = await take(messages, 1)
    await other.disconnect()

    assert received == [b"after the restart"]
    assert bus.reconnects == 1
    assert reconnected.is_set()
    assert await bus.healthy()


async def test_a_redis_that_stops_answering_never_blocks_publish_and_is_noticed(
    bus: RedisBus, own_redis: RedisServer
) -> None:
    own_redis.pause()
    try:
        started = time.perf_counter()
        for _ in range(1000):
            await bus.publish("room:town", b"into the void")
        publishing = time.perf_counter() - started
        await eventually(lambda: not bus.up, timeout=5)
        healthy_while_paused = await bus.healthy()
        for _ in range(10):
            await bus.publish("room:town", b"known lost")
    finally:
        own_redis.resume()
    await eventually(lambda: bus.up, timeout=5)

    assert publishing < 0.1
    assert not healthy_while_paused
    assert bus.dropped >= 10
    assert await bus.healthy()


async def test_subscribing_while_redis_is_down_takes_effect_when_it_is_back(
    bus: RedisBus, own_redis: RedisServer
) -> None:
    own_redis.stop()
    await eventually(lambda: not bus.up)

    async with bus.subscribe("room:beach") as messages:
        own_redis.start()
        await eventually(lambda: bus.up)
        await eventually(lambda: _subscribers(own_redis, "room:beach") == 1, "subscribed again")
        other = _bus(own_redis)
        await other.connect()
        await other.publish("room:beach", b"hello")
        received = await take(messages, 1)
        await other.disconnect()

    assert received == [b"hello"]


async def test_a_bus_starts_while_redis_is_down_and_connects_later(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "redis")
    bus = _bus(server)

    await bus.connect()  # gives up waiting after its timeout; keeps trying
    down = (bus.up, await bus.healthy())
    server.start()
    try:
        await eventually(lambda: bus.up)
        up = await bus.healthy()
    finally:
        await bus.disconnect()
        server.stop()

    assert down == (False, False)
    assert up
