"""The EventBus contract, for the in-memory bus and the Redis bus (a real redis-server).

Each test takes two buses standing for two nodes: the same MemoryBus twice (one process),
or two RedisBus instances on one Redis (two nodes)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis

from clubpengu.realtime.bus.backends.memory import MemoryBus
from clubpengu.realtime.bus.backends.redis import RedisBus
from clubpengu.realtime.bus.base import EventBus
from tests.redis_server import RedisServer
from tests.waiting import NOTHING_WITHIN, eventually

Nodes = tuple[EventBus, EventBus]


@pytest.fixture(params=["memory", "redis"])
async def nodes(request: pytest.FixtureRequest, redis_server: RedisServer) -> AsyncIterator[Nodes]:
    if request.param == "memory":
        bus = MemoryBus()
        await bus.connect()
        yield bus, bus
        await bus.disconnect()
        return
    one, two = RedisBus(redis_server.url, timeout=1.0), RedisBus(redis_server.url, timeout=1.0)
    await one.connect()
    await two.connect()
    yield one, two
    await one.disconnect()
    await two.disconnect()


async def take(messages: AsyncIterator[bytes], count: int, timeout: float = 3.0) -> list[bytes]:
    received = []
    async with asyncio.timeout(timeout):
        while len(received) < count:
            received.append(await anext(messages))
    return received


async def nothing_more(messages: AsyncIterator[bytes], seconds: float = NOTHING_WITHIN) -> bool:
    try:
        async with asyncio.timeout(seconds):
            await anext(messages)
    except TimeoutError:
        return True
    return False


async def test_a_subscriber_gets_every_message_once_intact_and_in_order(nodes: Nodes) -> None:
    one, two = nodes
    sent = [b"m%d \x00\xff\n{}" % i for i in range(200)]

    async with two.subscribe("room:plaza") as messages:
        for message in sent:
            await one.publish("room:plaza", message)
        received = await take(messages, len(sent))
        extra = await nothing_more(messages)

    assert received == sent
    assert extra


async def test_every_subscriber_of_the_channel_gets_it_and_no_other_channel_does(
    nodes: Nodes,
) -> None:
    one, two = nodes

    async with (
        two.subscribe("room:plaza") as first,
        two.subscribe("room:plaza") as second,
        two.subscribe("room:dock") as elsewhere,
    ):
        await one.publish("room:plaza", b"hello")
        got = await take(first, 1) + await take(second, 1)
        quiet = await nothing_more(elsewhere)

    assert got == [b"hello", b"hello"]
    assert quiet


async def test_a_channel_left_by_its_last_subscriber_delivers_nothing_later(
    nodes: Nodes,
) -> None:
    one, two = nodes
    async with two.subscribe("room:town") as messages:
        await one.publish("room:town", b"before")
        await take(messages, 1)

    await one.publish("room:town", b"while nobody listens")
    if isinstance(one, RedisBus):  # publishing returns before the message is on its way
        async with asyncio.timeout(5):
            await one.drained()
    async with two.subscribe("room:town") as messages:
        await one.publish("room:town", b"after")
        received = await take(messages, 1)

    assert received == [b"after"]


async def test_publishing_where_nobody_listens_is_fine_and_the_bus_is_healthy(
    nodes: Nodes,
) -> None:
    one, _ = nodes

    await one.publish("room:nobody", b"x")

    assert await one.healthy()


async def test_redis_unsubscribes_a_channel_when_its_last_local_subscriber_leaves(
    redis_server: RedisServer,
) -> None:
    bus = RedisBus(redis_server.url, timeout=1.0)
    await bus.connect()
    check = redis.Redis.from_url(redis_server.url)
    try:
        async with bus.subscribe("room:iceberg"), bus.subscribe("room:iceberg"):
            during = check.pubsub_numsub("room:iceberg")
        await eventually(lambda: check.pubsub_numsub("room:iceberg")[0][1] == 0, "unsubscribed")
        after = check.pubsub_numsub("room:iceberg")
    finally:
        check.close()
        await bus.disconnect()

    assert during == [(b"room:iceberg", 1)]  # one Redis subscription for both
    assert after == [(b"room:iceberg", 0)]
