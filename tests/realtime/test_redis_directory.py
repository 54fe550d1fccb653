"""The Redis room directory as nodes share it (a real redis-server): seats reserved by two
nodes at once never overfill an instance, members are listed across nodes with their
positions, a silent node's seats are released once, and a node puts its seats back after
Redis lost them."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest

from clubpengu.realtime.bus.backends.redis import RedisBus
from clubpengu.realtime.directory.redis import RedisDirectory
from clubpengu.realtime.names import node_key
from clubpengu.realtime.rooms import RoomCatalogue, RoomSpec
from tests.redis_server import RedisServer

TOWN = RoomSpec(id="town", name="Town", width=100, height=100, spawn=(1, 1), capacity=20, speed=9)
CATALOGUE = RoomCatalogue.from_specs([TOWN], "town", "test")
DIRECTORY_DB = 6


def _p(player_id: str, **extra: Any) -> dict[str, Any]:
    return {"playerId": player_id, "username": player_id.upper(), "x": 1.0, "y": 1.0} | extra


@pytest.fixture
async def buses(redis_server: RedisServer) -> AsyncIterator[tuple[RedisBus, RedisBus]]:
    url = redis_server.url.rsplit("/", 1)[0] + f"/{DIRECTORY_DB}"
    one, two = RedisBus(url, timeout=2.0), RedisBus(url, timeout=2.0)
    await one.connect()
    await two.connect()
    await one.client.flushdb()
    yield one, two
    await one.disconnect()
    await two.disconnect()


def _nodes(buses: tuple[RedisBus, RedisBus]) -> tuple[RedisDirectory, RedisDirectory]:
    return tuple(  # type: ignore[return-value]
        RedisDirectory(bus, CATALOGUE, name, close_grace=10.0, node_timeout=3.0)
        for bus, name in zip(buses, ("node-a", "node-b"), strict=True)
    )


async def test_sixty_joins_split_over_two_nodes_fill_three_instances_of_twenty(
    buses: tuple[RedisBus, RedisBus],
) -> None:
    a, b = _nodes(buses)

    seats = await asyncio.gather(
        *((a if i % 2 else b).reserve(TOWN, _p(f"p{i}")) for i in range(60))
    )
    listing = (await a.listing())[0]

    assert Counter(seats) == {"town": 20, "town~2": 20, "town~3": 20}
    assert [(i.id, i.population) for i in listing.instances] == [
        ("town", 20), ("town~2", 20), ("town~3", 20)
    ]  # fmt: skip
    assert await b.listing() == await a.listing()  # both nodes see the same instances


async def test_each_node_lists_the_other_node_s_members_where_they_last_moved(
    buses: tuple[RedisBus, RedisBus],
) -> None:
    a, b = _nodes(buses)
    await a.reserve(TOWN, _p("pa"))
    await b.reserve(TOWN, _p("pb", customization={"color": "red"}))

    b.moved("town", [("pb", 40.5, 12.0)])
    b.update("town", _p("pb", customization={"color": "blue"}))
    await b.bus.drained()
    seen_by_a = await a.others("town")
    seen_by_b = await b.others("town")

    assert seen_by_a == [_p("pb", x=40.5, y=12.0, customization={"color": "blue"})]
    assert [p["playerId"] for p in seen_by_b] == ["pa"]


async def test_a_silent_node_s_seats_are_released_once_by_a_surviving_node(
    buses: tuple[RedisBus, RedisBus],
) -> None:
    a, b = _nodes(buses)
    reports: list[tuple[str, list[tuple[str, str]]]] = []

    async def reaped(node: str, seats: list[tuple[str, str]]) -> None:
        reports.append((node, seats))

    a.on_reaped = reaped
    await a.start()
    await b.start()
    for i in range(3):
        await b.reserve(TOWN, _p(f"b{i}"))
    await a.reserve(TOWN, _p("a0"))
    await b.stop()  # as if it crashed: no heartbeat any more …
    await b.bus.drained()
    await b.reserve(TOWN, _p("late"))  # … with seats still held (re-add what stop removed)
    await b.bus.client.delete(node_key("node-b"))

    await a._reap()
    await a._reap()

    assert [node for node, _ in reports] == ["node-b"]
    assert sorted(pid for _, pid in reports[0][1]) == ["b0", "b1", "b2", "late"]
    assert [(i.id, i.population) for i in (await a.listing())[0].instances] == [("town", 1)]
    await a.stop()


async def test_a_node_puts_its_seats_back_when_redis_lost_them(
    buses: tuple[RedisBus, RedisBus],
) -> None:
    a, _ = _nodes(buses)
    announced: list[list[tuple[str, dict[str, Any]]]] = []

    async def restored(seats: list[tuple[str, dict[str, Any]]]) -> None:
        announced.append(seats)

    a.on_restored = restored
    for i in range(22):
        await a.reserve(TOWN, _p(f"p{i}"))
    await a.release("town", "p0")

    await a.bus.client.flushdb()  # Redis restarted empty
    await a.restore()

    listing = (await a.listing())[0]
    assert [(i.id, i.population) for i in listing.instances] == [("town", 19), ("town~2", 2)]
    assert announced == []  # nobody was told these players left, so nothing to re-announce


async def test_a_node_reaped_while_cut_off_restores_its_seats_and_announces_its_players(
    buses: tuple[RedisBus, RedisBus],
) -> None:
    a, b = _nodes(buses)
    announced: list[list[tuple[str, dict[str, Any]]]] = []

    async def restored(seats: list[tuple[str, dict[str, Any]]]) -> None:
        announced.append(seats)

    b.on_restored = restored
    await b.reserve(TOWN, _p("pb"))
    await a._reap()  # b has no heartbeat: taken for dead

    await b._beat()  # b notices its heartbeat had lapsed

    assert (await a.others("town"))[0]["playerId"] == "pb"
    assert announced == [[("town", _p("pb"))]]


async def test_seats_released_while_redis_was_unreachable_go_when_it_is_back(
    buses: tuple[RedisBus, RedisBus],
) -> None:
    a, b = _nodes(buses)
    await a.reserve(TOWN, _p("stays"))
    await a.reserve(TOWN, _p("leaves"))
    a.bus.up = False  # as the bus marks itself when Redis drops

    await a.release("town", "leaves")
    seated_locally = await a.reserve(TOWN, _p("newcomer"))
    a.bus.up = True
    await a.restore()

    members = sorted(p["playerId"] for p in await b.others("town"))
    assert seated_locally == "town"
    assert members == ["newcomer", "stays"]
