"""Room instances over real WebSockets against the real database: a full room opens
another instance, capacity holds under concurrent joins, instances are separate rooms,
the room browser lists them, and a player comes back to their instance."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient

from clubpengu.config import Settings
from tests.realtime.support import acked, rooms_file, tick, world
from tests.support import Client, Wallet, disconnected, enter
from tests.waiting import eventually, silent

Mongo = AsyncMongoClient[dict[str, Any]]
Listing = dict[str, dict[str, Any]]


async def _rooms(client: Client) -> dict[str, dict[str, Any]]:
    reply = await client.call({"type": "rooms"})
    assert reply["type"] == "rooms", reply
    return {room["id"]: room for room in reply["rooms"]}


def _seated(listing: Listing, instance: str) -> int | None:
    """The population of an open instance of its room (None: not open)."""
    room = listing[instance.split("~")[0]]
    return next((i["population"] for i in room["instances"] if i["id"] == instance), None)


async def _close_all(clients: list[Client]) -> None:
    await asyncio.gather(*(client.close() for client in clients))


async def test_a_hundred_concurrent_joins_fill_five_instances_of_twenty(
    settings: Settings, mongo_client: Mongo
) -> None:
    async with world(settings, mongo_client, room_capacity=20, auth_rate_per_ip=0) as server:
        entered = await asyncio.gather(
            *(enter(server.ws_url, Wallet(), room="town") for _ in range(100))
        )
        clients = [client for client, _, _ in entered]
        listing = await _rooms(clients[0])
        await _close_all(clients)

    seated = Counter(joined["room"] for _, _, joined in entered)
    town = listing["town"]
    assert seated == {"town": 20, "town~2": 20, "town~3": 20, "town~4": 20, "town~5": 20}
    assert all(len(joined["players"]) <= 20 for _, _, joined in entered)
    assert town["population"] == 100 and town["capacity"] == 20
    assert [(i["id"], i["population"]) for i in town["instances"]] == [
        ("town", 20), ("town~2", 20), ("town~3", 20), ("town~4", 20), ("town~5", 20)
    ]  # fmt: skip


async def test_a_leave_frees_a_seat_that_the_next_join_takes(
    settings: Settings, mongo_client: Mongo, tmp_path: Path
) -> None:
    rooms = rooms_file(tmp_path, {"id": "cove", "capacity": 2})
    async with world(settings, mongo_client, rooms_file=rooms) as server:
        first, _, _ = await enter(server.ws_url, Wallet(), room="cove")
        second, _, _ = await enter(server.ws_url, Wallet(), room="cove")
        third, _, in_third = await enter(server.ws_url, Wallet(), room="cove")
        await second.close()
        await eventually(
            lambda: _rooms(first), "a seat is free", ready=lambda r: _seated(r, "cove") == 1
        )
        fourth, _, in_fourth = await enter(server.ws_url, Wallet(), room="cove")
        await _close_all([first, third, fourth])

    assert in_third["room"] == "cove~2"
    assert in_fourth["room"] == "cove"  # the fullest with a free seat


async def test_players_in_two_instances_of_a_room_see_nothing_of_each_other(
    settings: Settings, mongo_client: Mongo, tmp_path: Path
) -> None:
    rooms = rooms_file(tmp_path, {"id": "cove", "capacity": 1})
    async with world(settings, mongo_client, rooms_file=rooms) as server:
        first, _, in_first = await enter(server.ws_url, Wallet(), room="cove")
        second, _, in_second = await enter(server.ws_url, Wallet(), room="cove")
        await acked(second, {"type": "move", "x": 150, "y": 150})
        await tick(server)
        await acked(second, {"type": "chat", "text": "anyone here?"})
        await acked(second, {"type": "emote", "emote": "wave"})
        first_heard_nothing = await silent(first)
        await _close_all([first, second])

    assert (in_first["room"], in_second["room"]) == ("cove", "cove~2")
    assert [p["playerId"] for p in in_second["players"]] == [in_second["playerId"]]
    assert first_heard_nothing


async def test_moves_name_the_instance(
    settings: Settings, mongo_client: Mongo, tmp_path: Path
) -> None:
    rooms = rooms_file(tmp_path, {"id": "cove", "capacity": 1})
    async with world(settings, mongo_client, rooms_file=rooms) as server:
        first, _, _ = await enter(server.ws_url, Wallet(), room="cove")
        second, _, _ = await enter(server.ws_url, Wallet(), room="cove")
        await acked(second, {"type": "move", "x": 150, "y": 150})
        await tick(server)
        batch = await second.recv_type("moves")
        await _close_all([first, second])

    assert batch["room"] == "cove~2"


async def test_change_room_to_a_room_places_the_player_in_an_instance_with_a_seat(
    settings: Settings, mongo_client: Mongo, tmp_path: Path
) -> None:
    rooms = rooms_file(tmp_path, {"id": "lobby"}, {"id": "cove", "capacity": 1})
    async with world(settings, mongo_client, rooms_file=rooms) as server:
        first, _, _ = await enter(server.ws_url, Wallet(), room="cove")
        second, _, _ = await enter(server.ws_url, Wallet(), room="lobby")
        moved = await second.call({"type": "change_room", "room": "cove"})
        again = await second.call({"type": "change_room", "room": "cove"})
        await _close_all([first, second])

    assert moved["type"] == "joined" and moved["room"] == "cove~2"
    assert again["type"] == "error" and again["code"] == "conflict"


async def test_an_instance_that_is_not_open_is_an_invalid_message(
    settings: Settings, mongo_client: Mongo
) -> None:
    async with world(settings, mongo_client) as server:
        client, _, _ = await enter(server.ws_url, Wallet(), room="plaza")
        not_open = await client.call({"type": "change_room", "room": "town~3"})
        malformed = await client.call({"type": "change_room", "room": "town~01"})
        await client.close()

    assert not_open["type"] == "error" and not_open["code"] == "invalid_message"
    assert "town~3 is not open" in not_open["message"]
    assert malformed["type"] == "error" and malformed["code"] == "invalid_message"


async def test_the_first_instance_is_asked_for_exactly_by_its_suffix_one(
    settings: Settings, mongo_client: Mongo, tmp_path: Path
) -> None:
    # `cove` from cove~2 is the room the player is in; `cove~1` is the first instance.
    rooms = rooms_file(tmp_path, {"id": "lobby"}, {"id": "cove", "capacity": 1})
    async with world(settings, mongo_client, rooms_file=rooms) as server:
        first, _, _ = await enter(server.ws_url, Wallet(), room="cove")
        second, _, in_second = await enter(server.ws_url, Wallet(), room="cove")
        third, _, _ = await enter(server.ws_url, Wallet(), room="lobby")
        full = await third.call({"type": "change_room", "room": "cove~1"})
        await first.call({"type": "change_room", "room": "lobby"})
        same_room = await second.call({"type": "change_room", "room": "cove"})
        followed = await second.call({"type": "change_room", "room": "cove~1"})
        await _close_all([first, second, third])

    assert in_second["room"] == "cove~2"
    assert full["type"] == "error" and full["code"] == "room_full"
    assert same_room["type"] == "error" and same_room["code"] == "conflict"
    assert followed["type"] == "joined" and followed["room"] == "cove"


async def test_an_emptied_instance_closes_after_the_grace_and_its_suffix_is_reused(
    settings: Settings, mongo_client: Mongo, tmp_path: Path
) -> None:
    rooms = rooms_file(tmp_path, {"id": "cove", "capacity": 1})
    async with world(settings, mongo_client, rooms_file=rooms, instance_close_grace=0.3) as s:
        first, _, _ = await enter(s.ws_url, Wallet(), room="cove")
        second, _, _ = await enter(s.ws_url, Wallet(), room="cove")
        third, _, in_third = await enter(s.ws_url, Wallet(), room="cove")
        await second.close()
        during_grace = await eventually(
            lambda: _rooms(first), "cove~2 empty", ready=lambda r: _seated(r, "cove~2") == 0
        )
        after_grace = await eventually(
            lambda: _rooms(first), "cove~2 gone", ready=lambda r: _seated(r, "cove~2") is None
        )
        fourth, _, in_fourth = await enter(s.ws_url, Wallet(), room="cove")
        await _close_all([first, third, fourth])

    assert in_third["room"] == "cove~3"
    assert [i["id"] for i in during_grace["cove"]["instances"]] == ["cove", "cove~2", "cove~3"]
    assert [i["id"] for i in after_grace["cove"]["instances"]] == ["cove", "cove~3"]
    assert in_fourth["room"] == "cove~2"


async def test_the_room_browser_lists_every_room_before_sign_in(
    settings: Settings, mongo_client: Mongo
) -> None:
    async with world(settings, mongo_client) as server:
        client, _, _ = await enter(server.ws_url, Wallet(), room="dock")
        import websockets

        async with websockets.connect(server.ws_url) as raw:
            await raw.send('{"type":"rooms","rid":"r"}')
            anonymous = await raw.recv()
        listing = await _rooms(client)
        await client.close()

    catalogue = server.node.realtime.hub.catalogue
    assert set(listing) == set(catalogue.rooms)
    assert listing["dock"]["population"] == 1
    assert listing["dock"]["instances"] == [
        {"id": "dock", "population": 1, "capacity": catalogue.rooms["dock"].capacity}
    ]
    assert '"type":"rooms"' in str(anonymous) and '"rid":"r"' in str(anonymous)


async def test_a_player_comes_back_to_their_instance_while_it_has_a_seat(
    settings: Settings, mongo_client: Mongo, tmp_path: Path
) -> None:
    rooms = rooms_file(tmp_path, {"id": "lobby"}, {"id": "cove", "capacity": 2})
    wallet = Wallet()
    async with world(settings, mongo_client, rooms_file=rooms, reconnect_grace=0) as server:
        others = [(await enter(server.ws_url, Wallet(), room="cove"))[0] for _ in range(2)]
        client, _, joined = await enter(server.ws_url, wallet, room="cove")
        await acked(client, {"type": "move", "x": 110, "y": 105})
        await client.close()
        user = await disconnected(wallet)
        back, _, rejoined = await enter(server.ws_url, wallet)  # no room: where they were
        await _close_all([*others, back])

    me = next(p for p in rejoined["players"] if p["playerId"] == rejoined["playerId"])
    assert joined["room"] == "cove~2"
    assert (user.last_room, user.last_instance) == ("cove", "cove~2")
    assert rejoined["room"] == "cove~2" and (me["x"], me["y"]) == (110, 105)


async def test_a_player_whose_instance_is_full_comes_back_to_another_of_the_room(
    settings: Settings, mongo_client: Mongo, tmp_path: Path
) -> None:
    rooms = rooms_file(tmp_path, {"id": "lobby"}, {"id": "cove", "capacity": 1})
    wallet = Wallet()
    async with world(settings, mongo_client, rooms_file=rooms, reconnect_grace=0) as server:
        first, _, _ = await enter(server.ws_url, Wallet(), room="cove")
        client, _, joined = await enter(server.ws_url, wallet, room="cove")
        await client.close()
        await disconnected(wallet)
        taker, _, _ = await enter(server.ws_url, Wallet(), room="cove~2")
        back, _, rejoined = await enter(server.ws_url, wallet)
        await _close_all([first, taker, back])

    assert joined["room"] == "cove~2"
    assert rejoined["room"] == "cove~3"
