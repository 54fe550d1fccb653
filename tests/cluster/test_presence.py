"""Room membership across nodes (real `clubpengu serve` processes on one Redis): the room's
player list holds every node's players, players on different nodes can challenge each
other, instances fill to capacity and no further when joins race on two nodes, and a
node killed with SIGKILL leaves everyone's view within NODE_TIMEOUT."""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from pymongo import AsyncMongoClient

from clubpengu.realtime.names import positions_key
from tests.cluster.support import CLUSTER_DB, Cluster, running_cluster
from tests.redis_server import running_redis
from tests.support import Client, Wallet, enter
from tests.waiting import eventually

pytestmark = pytest.mark.slow
NODE_TIMEOUT = 3


def _position_stored(cluster: Cluster, instance: str, player_id: str) -> bool:
    with redis.Redis.from_url(cluster.redis.url) as check:
        return check.hget(positions_key(instance), player_id) is not None


async def test_the_player_list_holds_the_room_s_players_on_every_node(
    cluster: Cluster, room: str
) -> None:
    first, _, in_first = await enter(cluster.nodes[0].ws_url, Wallet(), room)
    await first.call({"type": "move", "x": 130, "y": 120})
    await first.recv_type("moves")  # cut and sent: the position is on its way to Redis
    await eventually(lambda: _position_stored(cluster, room, in_first["playerId"]))
    second, _, in_second = await enter(cluster.nodes[1].ws_url, Wallet(), room)
    third, _, in_third = await enter(cluster.nodes[2].ws_url, Wallet(), room)
    for client in (first, second, third):
        await client.close()

    ids = [j["playerId"] for j in (in_first, in_second, in_third)]
    listed = {p["playerId"]: p for p in in_third["players"]}
    assert sorted(listed) == sorted(ids)
    assert (listed[ids[0]]["x"], listed[ids[0]]["y"]) == (130, 120)  # where it last moved
    assert sorted(p["playerId"] for p in in_second["players"]) == sorted(ids[:2])


async def test_players_on_two_nodes_challenge_each_other_and_play(
    cluster: Cluster, room: str
) -> None:
    challenger, _, _ = await enter(cluster.nodes[0].ws_url, Wallet(), room)
    target, _, in_target = await enter(cluster.nodes[1].ws_url, Wallet(), room)

    sent = await challenger.call(
        {"type": "challenge", "targetPlayerId": in_target["playerId"], "game": "tictactoe"}
    )
    offered = await target.recv_type("challenge")
    started = await target.call({"type": "challenge_accept", "challengeId": offered["challengeId"]})
    told = await challenger.recv_type("match_start")
    await challenger.close()
    await target.close()

    assert sent["type"] == "challenge_sent"
    assert started["type"] == "match_start" and told["matchId"] == started["matchId"]


@pytest.fixture(scope="module")
def pair(mongo_uri: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Two nodes with rooms of 20 and a short node timeout, on a Redis of their own (the
    shared cluster's nodes have the same names)."""
    directory: Path = tmp_path_factory.mktemp("presence")
    extra = {"ROOM_CAPACITY": "20", "NODE_TIMEOUT": f"{NODE_TIMEOUT}s"}
    with (
        running_redis(directory / "redis") as redis,
        running_cluster(directory, mongo_uri, redis, 2, **extra) as cluster,
    ):
        yield cluster


async def _enter_all(urls: list[str]) -> list[tuple[Client, dict[str, Any], dict[str, Any]]]:
    return list(await asyncio.gather(*(enter(url, Wallet(), "c0") for url in urls)))


async def test_joins_racing_on_two_nodes_never_overfill_and_a_killed_node_s_seats_return(
    pair: Cluster,
) -> None:
    node_a, node_b = pair.nodes
    entered = await _enter_all([(node_a if i % 2 else node_b).ws_url for i in range(60)])
    on_a = [(c, j) for i, (c, _, j) in enumerate(entered) if i % 2]
    on_b = [(c, j) for i, (c, _, j) in enumerate(entered) if not i % 2]
    seated = Counter(j["room"] for _, _, j in entered)
    watcher, joined = next((c, j) for c, j in on_a if j["room"] == "c0")
    b_in_c0 = {j["playerId"] for _, j in on_b if j["room"] == "c0"}

    killed_at = time.monotonic()
    node_b.serve.process.send_signal(signal.SIGKILL)
    node_b.serve.process.wait()
    gone: set[str] = set()

    async def all_left() -> bool:
        frame = await watcher.recv_type("player_left", timeout=NODE_TIMEOUT * 4)
        gone.add(frame["playerId"])
        return gone >= b_in_c0

    await eventually(all_left, "every seat of node b left", timeout=NODE_TIMEOUT * 4, every=0)
    left_after = time.monotonic() - killed_at
    listing = {r["id"]: r for r in (await watcher.call({"type": "rooms"}))["rooms"]}
    b_wallets = [j["user"]["walletAddress"] for _, j in on_b]
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(pair.mongo_uri)
    users = client[CLUSTER_DB].users
    connected = {"walletAddress": {"$in": b_wallets}, "isConnected": True}

    async def reset() -> bool:
        return await users.count_documents(connected) == 0

    presence_reset = await eventually(reset, "node b's presence reset")
    await client.close()
    for c, _ in on_a:
        await c.close()

    assert seated == {"c0": 20, "c0~2": 20, "c0~3": 20}
    assert all(len(j["players"]) <= 20 for _, _, j in entered)
    assert joined["room"] == "c0"
    assert left_after < NODE_TIMEOUT * 2 + 1
    populations = {i["id"]: i["population"] for i in listing["c0"]["instances"]}
    assert sum(populations.values()) == 30  # node b's thirty seats came back
    assert presence_reset
