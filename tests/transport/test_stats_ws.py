"""Counters from play reach `get_stats` before a flush and the database on shutdown."""

from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient

from clubpengu.config import Settings
from clubpengu.models import User
from tests.support import Wallet, connect, disconnected, enter, run_server


async def test_room_visits_and_time_online_are_counted(
    settings: Settings, mongo_client: AsyncMongoClient[dict[str, Any]]
) -> None:
    wallet = Wallet()
    async with run_server(settings, mongo_client) as server:
        client, signed, _ = await enter(server.ws_url, wallet, room="town")
        await client.request({"type": "change_room", "room": "dock"})
        await client.close()
        await disconnected(wallet)  # left: the join below is a visit, not a resume
        async with connect(server.ws_url) as again:
            await again.request({"type": "join", "token": signed["token"]})
            pending = await again.request({"type": "get_stats", "rid": 1})

    user = await User.find_one(User.wallet_address == wallet.address)

    assert pending["type"] == "stats" and pending["rid"] == 1
    assert pending["stats"]["world"]["roomsVisited"] == 3
    assert user is not None
    stored = user.model_dump(by_alias=True)["stats"]["world"]
    assert stored["roomsVisited"] == 3
    assert stored["secondsOnline"] >= 0


async def test_guests_have_no_stats(
    settings: Settings, mongo_client: AsyncMongoClient[dict[str, Any]]
) -> None:
    guests = settings.with_overrides(require_wallet_auth=False)
    async with run_server(guests, mongo_client) as server, connect(server.ws_url) as client:
        await client.request({"type": "join"})
        reply = await client.request({"type": "get_stats"})

    assert reply["code"] == "forbidden"


async def test_steps_chats_and_emotes_are_counted(
    settings: Settings, mongo_client: AsyncMongoClient[dict[str, Any]]
) -> None:
    wallet = Wallet()
    async with run_server(settings, mongo_client) as server:
        client, _, _ = await enter(server.ws_url, wallet, room="town")
        for step in range(3):
            await client.call({"type": "move", "x": 700 + step, "y": 600})
        await client.call({"type": "chat", "text": "hello"})
        await client.call({"type": "emote", "emote": "wave"})
        stats = (await client.call({"type": "get_stats"}))["stats"]
        await client.close()

    assert stats["world"]["steps"] == 3
    assert stats["social"] == {"chats": 1, "emotes": 1}
