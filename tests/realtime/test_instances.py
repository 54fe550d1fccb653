"""Room instances: instance ids, and the room directory's seats, choice of instance,
closing and suffix reuse (clock injected: no sleeping) — for the in-process directory of
one node and for the Redis directory of many (a real redis-server)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from clubpengu.errors import InvalidMessage, RoomFull
from clubpengu.realtime.bus.backends.redis import RedisBus
from clubpengu.realtime.directory.base import RoomDirectory
from clubpengu.realtime.directory.local import LocalDirectory
from clubpengu.realtime.directory.redis import RedisDirectory
from clubpengu.realtime.instances import instance_id, parse_instance
from clubpengu.realtime.rooms import RoomCatalogue, RoomSpec
from tests.redis_server import RedisServer

TOWN = RoomSpec(id="town", name="Town", width=100, height=100, spawn=(1, 1), capacity=3, speed=10)
DOCK = RoomSpec(id="dock", name="Dock", width=100, height=100, spawn=(1, 1), capacity=3, speed=10)
GRACE = 10.0


def _p(player_id: str) -> dict[str, Any]:
    return {"playerId": player_id, "username": player_id, "x": 1.0, "y": 1.0}


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> _Clock:
    return _Clock()


CATALOGUE = RoomCatalogue.from_specs([TOWN, DOCK], "town", "test")
DIRECTORY_DB = 5  # a Redis database of its own, emptied before each test


@pytest.fixture(params=["local", "redis"])
async def directory(
    request: pytest.FixtureRequest, clock: _Clock, redis_server: RedisServer
) -> AsyncIterator[RoomDirectory]:
    if request.param == "local":
        yield LocalDirectory(CATALOGUE, GRACE, clock)
        return
    bus = RedisBus(redis_server.url.rsplit("/", 1)[0] + f"/{DIRECTORY_DB}", timeout=2.0)
    await bus.connect()
    await bus.client.flushdb()
    yield RedisDirectory(bus, CATALOGUE, "node-a", close_grace=GRACE, clock=clock)
    await bus.disconnect()


async def _populations(directory: RoomDirectory) -> dict[str, int]:
    if isinstance(directory, RedisDirectory):
        await directory.bus.drained()  # releases go through the outbox
    listing = next(r for r in await directory.listing() if r.spec.id == "town")
    return {i.id: i.population for i in listing.instances}


@pytest.mark.parametrize(
    ("text", "parsed"),
    [("town", ("town", 1)), ("town~2", ("town", 2)), ("ski_village~9999", ("ski_village", 9999)),
     ("town~1", ("town", 1)), ("town~0", None), ("town~02", None), ("town~10000", None),
     ("Town", None), ("town~", None), ("~2", None), ("town~2~3", None)],
)  # fmt: skip
def test_instance_ids_are_the_room_id_and_a_suffix_from_two(
    text: str, parsed: tuple[str, int] | None
) -> None:
    assert parse_instance(text) == parsed
    if parsed is not None:  # the first instance's id is the room's; `town~1` names it too
        assert instance_id(*parsed) == text.removesuffix("~1")


async def test_a_full_instance_opens_the_next_one(directory: RoomDirectory) -> None:
    seats = [await directory.reserve(TOWN, _p(f"p{i}")) for i in range(7)]

    assert seats == ["town"] * 3 + ["town~2"] * 3 + ["town~3"]
    assert await _populations(directory) == {"town": 3, "town~2": 3, "town~3": 1}


async def test_the_fullest_instance_with_a_free_seat_is_preferred(
    directory: RoomDirectory,
) -> None:
    for i in range(6):
        await directory.reserve(TOWN, _p(f"p{i}"))
    await directory.release("town", "p0")
    await directory.release("town", "p1")
    await directory.release("town~2", "p3")

    assert await directory.reserve(TOWN, _p("new")) == "town~2"  # 2 of 3 beats 1 of 3


async def test_equally_full_instances_fill_the_lower_suffix_first(
    directory: RoomDirectory,
) -> None:
    for i in range(6):
        await directory.reserve(TOWN, _p(f"p{i}"))
    await directory.release("town", "p0")
    await directory.release("town~2", "p3")

    assert await directory.reserve(TOWN, _p("new")) == "town"


async def test_an_instance_asked_for_by_id_is_given_or_refused(directory: RoomDirectory) -> None:
    for i in range(4):
        await directory.reserve(TOWN, _p(f"p{i}"))

    assert await directory.reserve(TOWN, _p("friend"), instance="town~2") == "town~2"
    with pytest.raises(RoomFull):
        await directory.reserve(TOWN, _p("late"), instance="town")
    with pytest.raises(InvalidMessage):
        await directory.reserve(TOWN, _p("lost"), instance="town~7")
    assert await _populations(directory) == {"town": 3, "town~2": 2}


async def test_a_preferred_instance_is_taken_only_while_it_has_a_seat(
    directory: RoomDirectory,
) -> None:
    for i in range(4):
        await directory.reserve(TOWN, _p(f"p{i}"))

    back = await directory.reserve(TOWN, _p("back"), prefer="town~2")
    full = await directory.reserve(TOWN, _p("x"), prefer="town")  # full: falls back
    elsewhere = await directory.reserve(TOWN, _p("y"), prefer="dock~2")  # not this room

    assert (back, full, elsewhere) == ("town~2", "town~2", "town~3")


async def test_an_emptied_instance_closes_after_the_grace_and_its_suffix_is_reused(
    directory: RoomDirectory, clock: _Clock
) -> None:
    for i in range(7):
        await directory.reserve(TOWN, _p(f"p{i}"))
    for i in range(3, 6):
        await directory.release("town~2", f"p{i}")

    clock.now += GRACE - 1
    still_open = await _populations(directory)
    clock.now += 1
    closed = await _populations(directory)
    for i in range(10, 13):
        await directory.reserve(TOWN, _p(f"p{i}"))  # fills town~3, then opens the next

    assert still_open == {"town": 3, "town~2": 0, "town~3": 1}
    assert closed == {"town": 3, "town~3": 1}
    assert await _populations(directory) == {"town": 3, "town~2": 1, "town~3": 3}


async def test_a_seat_taken_during_the_grace_keeps_the_instance_open(
    directory: RoomDirectory, clock: _Clock
) -> None:
    for i in range(4):
        await directory.reserve(TOWN, _p(f"p{i}"))
    await directory.release("town~2", "p3")
    clock.now += GRACE / 2
    await directory.reserve(TOWN, _p("friend"), instance="town~2")

    clock.now += GRACE * 2

    assert await _populations(directory) == {"town": 3, "town~2": 1}


async def test_the_first_instance_is_always_listed(directory: RoomDirectory, clock: _Clock) -> None:
    await directory.reserve(TOWN, _p("p"))
    await directory.release("town", "p")
    clock.now += GRACE * 10

    listing = {r.spec.id: r.public() for r in await directory.listing()}

    assert listing["town"]["instances"] == [{"id": "town", "population": 0, "capacity": 3}]
    assert listing["dock"] == {
        "id": "dock", "name": "Dock", "game": False, "capacity": 3, "population": 0,
        "instances": [{"id": "dock", "population": 0, "capacity": 3}],
    }  # fmt: skip


async def test_releasing_twice_or_an_unknown_seat_changes_nothing(
    directory: RoomDirectory,
) -> None:
    await directory.reserve(TOWN, _p("p"))
    await directory.release("town", "p")
    await directory.release("town", "p")
    await directory.release("town~5", "p")
    await directory.release("nowhere", "p")

    assert await _populations(directory) == {"town": 0}
