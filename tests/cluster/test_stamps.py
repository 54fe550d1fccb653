"""A stamp earned on two nodes at once is earned once: the same wallet joins the last room
of the island on two `clubpengu serve` processes (one database, one Redis) at the same
moment, and each node sees the visit that completes the set."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
import websockets
from pymongo import MongoClient

from tests.cluster.support import CLUSTER_DB, ROOM_COUNT, Cluster, connect
from tests.support import Client, Wallet, http_token
from tests.waiting import eventually

pytestmark = pytest.mark.slow
RACES = 3


def _prepare(cluster: Cluster, wallet: Wallet, last_room: str) -> None:
    """The wallet has seen every room of the cluster's island but `last_room`."""
    seen = [f"c{n}" for n in range(ROOM_COUNT) if f"c{n}" != last_room]
    with MongoClient(cluster.mongo_uri) as mongo:
        mongo[CLUSTER_DB].users.update_one(
            {"walletAddress": wallet.address},
            {"$set": {"stampProgress": {"room_visited": seen}}},
        )


async def _join(client: Client, token: str, room: str) -> dict[str, Any] | None:
    """The join's reply; None when the other node's join took the wallet first and this
    connection was closed (4001) before its reply."""
    try:
        return await client.call({"type": "join", "token": token, "room": room})
    except websockets.ConnectionClosed:
        return None


def _stored(cluster: Cluster, wallet: Wallet) -> tuple[list[str], list[int], int] | None:
    with MongoClient(cluster.mongo_uri) as mongo:
        database = mongo[CLUSTER_DB]
        user = database.users.find_one({"walletAddress": wallet.address}) or {}
        rewards = [
            entry["amount"]
            for entry in database.transactions.find(
                {"walletAddress": wallet.address, "type": "stamp_reward"}
            )
        ]
    if "explorer" not in user.get("stamps", []):
        return None
    return list(user["stamps"]), rewards, int(user["coins"])


async def test_two_nodes_completing_the_rooms_at_once_award_the_explorer_stamp_once(
    cluster: Cluster, room: str
) -> None:
    for _ in range(RACES):
        wallet = Wallet()
        async with httpx.AsyncClient() as http:
            token = await http_token(cluster.nodes[0].url, wallet, http)
        _prepare(cluster, wallet, room)
        first, second = await connect(cluster.nodes[0]), await connect(cluster.nodes[1])

        replies = await asyncio.gather(_join(first, token, room), _join(second, token, room))
        stored = await eventually(lambda w=wallet: _stored(cluster, w), "the stamp is stored")

        stamps, rewards, coins = stored
        assert any(reply is not None and reply["type"] == "joined" for reply in replies)
        assert stamps.count("explorer") == 1 and stamps.count("first_login") == 1
        assert rewards == [25] and coins == 25
        for client in (first, second):
            await client.close()
