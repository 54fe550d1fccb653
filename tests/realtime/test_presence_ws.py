"""Presence on the User (seed 000 §5.1) and the connection log, over real sockets: join,
leave, kick, shutdown, and a node restarting after a crash."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from pymongo import AsyncMongoClient

from clubpengu.config import Settings
from clubpengu.models import ConnectionLog, User
from tests.realtime.support import acked, closed_with, world
from tests.support import Wallet, disconnected, enter
from tests.waiting import eventually, stays

Mongo = AsyncMongoClient[dict[str, Any]]


async def _user(wallet: Wallet) -> User:
    user = await User.find_one(User.wallet_address == wallet.address)
    assert user is not None
    return user


async def _connected_as(wallet: Wallet, player_id: str) -> bool:
    user = await _user(wallet)
    return user.is_connected and user.current_player_id == player_id


async def test_join_and_leave_record_presence_with_the_last_position(
    settings: Settings, mongo_client: Mongo
) -> None:
    wallet = Wallet()
    async with world(settings, mongo_client) as server:
        client, _, joined = await enter(server.ws_url, wallet, room="dock")
        spot = joined["players"][0]
        await acked(client, {"type": "move", "x": spot["x"] + 30, "y": spot["y"] + 10})
        # Written in the background (a join does not wait for it).
        await eventually(lambda: _connected_as(wallet, joined["playerId"]), "presence written")
        during = await _user(wallet)

        await client.close()
        after = await disconnected(wallet)

    assert during.is_connected and during.node_id == "node-1"
    assert during.current_player_id == joined["playerId"] and during.last_room == "dock"
    assert during.last_active_at is not None
    assert after.node_id is None and after.last_logout_at is not None
    assert (after.last_room, after.last_x, after.last_y) == (
        "dock",
        spot["x"] + 30,
        spot["y"] + 10,
    )


async def test_a_kicked_connection_leaves_presence_to_the_newer_one(
    settings: Settings, mongo_client: Mongo
) -> None:
    wallet = Wallet()
    async with world(settings, mongo_client) as server:
        older, _, _ = await enter(server.ws_url, wallet, room="beach")
        newer, _, joined = await enter(server.ws_url, wallet, room="beach")
        code = await closed_with(older)
        await stays(lambda: _connected_as(wallet, joined["playerId"]))  # no late leave of older
        user = await _user(wallet)
        await newer.close()

    assert code == 4001
    assert user.is_connected and user.current_player_id == joined["playerId"]
    assert user.node_id == "node-1"


async def test_a_node_resets_the_presence_it_left_behind_after_a_crash(
    settings: Settings, mongo_client: Mongo
) -> None:
    stale = User(wallet_address="W1", username="Crashed", is_connected=True, node_id="node-1")
    elsewhere = User(wallet_address="W2", username="OnNode2", is_connected=True, node_id="node-2")
    await stale.insert()
    await elsewhere.insert()

    async with world(settings, mongo_client):
        reset = await User.find_one(User.wallet_address == "W1")
        untouched = await User.find_one(User.wallet_address == "W2")

    assert reset is not None and not reset.is_connected and reset.node_id is None
    assert reset.last_logout_at is not None
    assert untouched is not None and untouched.is_connected and untouched.node_id == "node-2"


async def test_shutdown_closes_with_1001_and_records_every_leave(
    settings: Settings, mongo_client: Mongo
) -> None:
    wallets = [Wallet(), Wallet()]
    async with world(settings, mongo_client) as server:
        clients = [await enter(server.ws_url, w, room="mine") for w in wallets]
        for step, (client, _, joined) in enumerate(clients):
            spot = joined["players"][-1]
            await acked(client, {"type": "move", "x": spot["x"] + step, "y": spot["y"] - 5})
        closing = [asyncio.create_task(closed_with(c, 10)) for c, _, _ in clients]
        server.server.should_exit = True
        codes = await asyncio.gather(*closing)

    users = [await _user(w) for w in wallets]
    assert codes == [1001, 1001]
    for step, user in enumerate(users):
        spot = clients[step][2]["players"][-1]
        assert not user.is_connected
        assert (user.last_room, user.last_x, user.last_y) == (
            "mine",
            spot["x"] + step,
            spot["y"] - 5,
        )


async def test_the_connection_log_records_each_signed_in_connection(
    settings: Settings, mongo_client: Mongo
) -> None:
    wallet = Wallet()
    async with world(settings, mongo_client) as server:
        client, _, _ = await enter(server.ws_url, wallet, room="town")
        await client.request({"type": "change_room", "room": "plaza"})
        await client.close()
    # The server has stopped: whatever was still being written has been flushed.
    logs = await ConnectionLog.find_all().to_list()
    indexes = await ConnectionLog.get_pymongo_collection().index_information()

    assert len(logs) == 1
    log = logs[0]
    assert log.wallet_address == wallet.address and log.node_id == "node-1"
    assert log.rooms_visited == ["town", "plaza"]
    assert log.close_code == 1000
    assert log.client_version is None
    assert log.ip_hash is not None and len(log.ip_hash) == 64 and "127.0.0.1" not in log.ip_hash
    assert log.connected_at <= log.disconnected_at
    assert log.expires_at - log.disconnected_at == timedelta(days=90)
    assert indexes["ttl"]["expireAfterSeconds"] == 0


async def test_the_connection_log_keeps_the_client_version(
    settings: Settings, mongo_client: Mongo
) -> None:
    from tests.support import connect, sign_in

    async with world(settings, mongo_client) as server, connect(server.ws_url) as client:
        await sign_in(client, Wallet())
        await client.request({"type": "join", "room": "dock", "clientVersion": "web-1.4.2"})
    await eventually(ConnectionLog.count, "the connection is logged")
    log = await ConnectionLog.find_one()

    assert log is not None and log.client_version == "web-1.4.2"
