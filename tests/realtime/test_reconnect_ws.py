"""Reconnects (docs/protocol.md, "Reconnecting"): a dropped player keeps its place for the
grace period and the others see no flicker; a deliberate close leaves at once."""

from __future__ import annotations

from typing import Any

import pytest
import websockets
from pymongo import AsyncMongoClient

from clubpengu.config import Settings
from clubpengu.models import User
from tests.realtime.support import acked, closed_with, drop, tick, world
from tests.support import Client, RunningServer, Wallet, connect, disconnected, enter
from tests.waiting import eventually, silent

Mongo = AsyncMongoClient[dict[str, Any]]


async def _rejoin(server: RunningServer, token: str, **join: Any) -> tuple[Client, dict[str, Any]]:
    client = Client(await websockets.connect(server.ws_url, max_queue=None))
    joined = await client.request({"type": "join", "token": token, **join})
    return client, joined


async def test_a_dropped_player_who_returns_within_the_grace_keeps_its_place(
    settings: Settings, mongo_client: Mongo
) -> None:
    async with world(settings, mongo_client, reconnect_grace=5.0) as server:
        other, _, _ = await enter(server.ws_url, Wallet(), room="plaza")
        player, signed, joined = await enter(server.ws_url, Wallet(), room="plaza")
        await other.recv_type("player_joined")
        spot = joined["players"][-1]
        await acked(player, {"type": "move", "x": spot["x"] + 15, "y": spot["y"]})
        await tick(server)
        await other.recv_type("moves")

        await drop(player)
        nothing_during_grace = await silent(other)
        back, rejoined = await _rejoin(server, signed["token"])
        await acked(back, {"type": "move", "x": spot["x"] + 16, "y": spot["y"]})
        await tick(server)
        batch = await other.recv_type("moves")
        no_flicker = await silent(other)
        await back.close()
        await other.close()

    me = next(p for p in rejoined["players"] if p["playerId"] == rejoined["playerId"])
    assert nothing_during_grace and no_flicker
    assert rejoined["playerId"] == joined["playerId"] and rejoined["room"] == "plaza"
    assert (me["x"], me["y"]) == (spot["x"] + 15, spot["y"])
    assert batch["moves"] == [{"playerId": joined["playerId"], "x": spot["x"] + 16, "y": spot["y"]}]


async def test_after_the_grace_the_others_see_player_left_and_presence_is_written(
    settings: Settings, mongo_client: Mongo
) -> None:
    wallet = Wallet()
    async with world(settings, mongo_client, reconnect_grace=0.3) as server:
        other, _, _ = await enter(server.ws_url, Wallet(), room="dock")
        player, _, joined = await enter(server.ws_url, wallet, room="dock")
        await other.recv_type("player_joined")

        await drop(player)
        await eventually(lambda: len(server.node.realtime.grace), "the dropped player is parked")
        await server.node.services.presence.writer.flush()  # the join's, not waited for
        during = await User.find_one(User.wallet_address == wallet.address)
        left = await other.recv_type("player_left", timeout=3)
        after = await disconnected(wallet)  # written just after player_left goes out
        await other.close()

    assert during is not None and during.is_connected  # still in the world during the grace
    assert left == {"type": "player_left", "playerId": joined["playerId"]}
    assert after is not None and not after.is_connected and after.last_room == "dock"


@pytest.mark.parametrize(("code", "immediate"), [(1000, True), (1001, True), (4000, False)])
async def test_only_a_close_with_1000_or_1001_leaves_at_once(
    settings: Settings, mongo_client: Mongo, code: int, immediate: bool
) -> None:
    async with world(settings, mongo_client, reconnect_grace=5.0) as server:
        other, _, _ = await enter(server.ws_url, Wallet(), room="beach")
        player, _, _ = await enter(server.ws_url, Wallet(), room="beach")
        await other.recv_type("player_joined")

        await player.ws.close(code)
        announced = not await silent(other, kind="player_left")
        await other.close()

    assert announced is immediate


async def test_rejoining_another_room_within_the_grace_leaves_the_old_one(
    settings: Settings, mongo_client: Mongo
) -> None:
    async with world(settings, mongo_client, reconnect_grace=5.0) as server:
        other, _, _ = await enter(server.ws_url, Wallet(), room="town")
        player, signed, joined = await enter(server.ws_url, Wallet(), room="town")
        await other.recv_type("player_joined")

        await drop(player)
        back, rejoined = await _rejoin(server, signed["token"], room="plaza")
        left = await other.recv_type("player_left")
        await back.close()
        await other.close()

    assert rejoined["room"] == "plaza" and rejoined["playerId"] != joined["playerId"]
    assert left == {"type": "player_left", "playerId": joined["playerId"]}


async def test_a_newer_connection_takes_over_the_place_without_flicker(
    settings: Settings, mongo_client: Mongo
) -> None:
    wallet = Wallet()
    async with world(settings, mongo_client) as server:
        other, _, _ = await enter(server.ws_url, Wallet(), room="pet_shop")
        older, signed, joined = await enter(server.ws_url, wallet, room="pet_shop")
        await other.recv_type("player_joined")

        newer, rejoined = await _rejoin(server, signed["token"])
        code = await closed_with(older)
        no_flicker = await silent(other)
        await newer.close()
        await other.close()

    assert code == 4001
    assert no_flicker
    assert rejoined["playerId"] == joined["playerId"] and rejoined["room"] == "pet_shop"


async def test_a_guest_has_no_grace(settings: Settings, mongo_client: Mongo) -> None:
    async with world(settings, mongo_client, require_wallet_auth=False) as server:
        other, _, _ = await enter(server.ws_url, Wallet(), room="town")
        async with connect(server.ws_url) as guest:
            joined = await guest.request({"type": "join", "room": "town"})
            await drop(guest)
        left = await other.recv_type("player_left")
        await other.close()

    assert left["playerId"] == joined["playerId"]
