"""One live session per wallet across nodes, revocation and pushes to whichever node holds
a wallet's connection (real `clubpengu serve` processes on one Redis)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import httpx
import pytest
import websockets
from pymongo import MongoClient

from tests.cluster.support import CLUSTER_DB, Cluster, connect
from tests.realtime.support import closed_with, drop
from tests.support import Client, Wallet, enter, http_token, sign_in
from tests.waiting import eventually, silent, stays

pytestmark = pytest.mark.slow


async def _alive(client: Client) -> bool:
    try:
        return (await client.call({"type": "ping"}, timeout=3))["type"] == "pong"
    except (websockets.ConnectionClosed, TimeoutError):
        return False


async def test_a_join_on_another_node_kicks_the_older_connection_with_4001(
    cluster: Cluster, room: str
) -> None:
    wallet = Wallet()
    older, signed, _ = await enter(cluster.nodes[0].ws_url, wallet, room)

    newer = await connect(cluster.nodes[1])
    joined = await newer.call({"type": "join", "token": signed["token"], "room": room})
    kicked = await older.recv_type("kicked")
    code = await closed_with(older)
    still_there = await _alive(newer)
    await newer.close()

    assert joined["type"] == "joined"
    assert kicked == {"type": "kicked", "reason": "KICKED_OTHER_SESSION"}
    assert code == 4001
    assert still_there


async def _race(a: Client, b: Client) -> tuple[list[int | None], list[bool]]:
    """Wait for the first of the two to be closed; then (close codes, whether each
    connection still open answers a ping a moment later)."""
    readers = {asyncio.create_task(closed_with(c, timeout=5)): c for c in (a, b)}
    done, pending = await asyncio.wait(readers, timeout=5, return_when=asyncio.FIRST_COMPLETED)
    await stays(lambda: not any(task.done() for task in pending))  # no second kick comes
    for task in pending:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    codes = [task.result() if task in done else None for task in readers]
    alive = [await _alive(c) for task, c in readers.items() if task not in done]
    return codes, alive


async def test_simultaneous_joins_of_one_wallet_on_two_nodes_leave_exactly_one(
    cluster: Cluster, room: str
) -> None:
    wallet = Wallet()
    first, signed, _ = await enter(cluster.nodes[0].ws_url, wallet, room)
    await first.close()
    token, pairs = signed["token"], [(0, 1), (1, 2), (2, 0), (1, 0)]
    results = []
    for attempt in range(20):
        one, two = (cluster.nodes[i] for i in pairs[attempt % len(pairs)])
        a, b = await connect(one), await connect(two)
        join = {"type": "join", "token": token, "room": room}
        await asyncio.gather(a.send(join), b.send(join))
        codes, alive = await _race(a, b)
        results.append((sorted(codes, key=str), alive))
        for client in (a, b):
            await client.close()

    assert all(codes == [4001, None] and alive == [True] for codes, alive in results), results


async def test_logout_on_one_node_closes_the_session_on_another_with_4003(
    cluster: Cluster, room: str
) -> None:
    wallet = Wallet()
    here = await connect(cluster.nodes[0])
    signed = await sign_in(here, wallet)  # signed in, not in the world
    there = await connect(cluster.nodes[1])
    joined = await there.call({"type": "join", "token": signed["token"], "room": room})

    reply = await here.call({"type": "logout"})
    code_there = await closed_with(there)
    code_here = await closed_with(here)
    third = await connect(cluster.nodes[2])
    refused = await third.call({"type": "join", "token": signed["token"], "room": room})
    await third.close()

    assert joined["type"] == "joined"
    assert reply == {"type": "logged_out"}
    assert (code_here, code_there) == (1000, 4003)
    assert refused["code"] == "not_authenticated"


async def test_a_coins_change_made_on_one_node_is_pushed_to_the_player_on_another(
    cluster: Cluster, room: str
) -> None:
    player, _, _ = await enter(cluster.nodes[1].ws_url, wallet := Wallet(), room)
    token = await http_token(cluster.nodes[0].url, cluster.admin)

    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.post(
            cluster.nodes[0].url + "/admin/coins",
            headers={"Authorization": f"Bearer {token}"},
            json={"walletAddress": wallet.address, "amount": 40, "reason": "cluster test",
                  "idempotencyKey": f"grant-{wallet.address}"},
        )  # fmt: skip
    push = await player.recv_type("coins")
    once = await silent(player, kind="coins")
    await player.close()

    assert response.status_code == 200
    assert (push["coins"], push["delta"]) == (40, 40)
    assert once


async def test_a_player_who_dropped_and_comes_back_on_another_node_ends_the_kept_place(
    cluster: Cluster, room: str
) -> None:
    watcher, _, _ = await enter(cluster.nodes[0].ws_url, Wallet(), room)
    dropped, signed, first = await enter(cluster.nodes[0].ws_url, Wallet(), room)
    await watcher.recv_type("player_joined")
    await drop(dropped)  # kept for the reconnect grace: the watcher sees nothing
    kept = await silent(watcher)

    back = await connect(cluster.nodes[1])
    rejoined = await back.call({"type": "join", "token": signed["token"], "room": room})
    seen: dict[str, Any] = {}
    while len(seen) < 2:
        frame = await watcher.recv(timeout=5)
        seen.setdefault(frame["type"], frame)
    await back.close()
    await watcher.close()

    assert kept
    assert seen["player_left"]["playerId"] == first["playerId"]
    assert seen["player_joined"]["player"]["playerId"] == rejoined["playerId"]


async def test_the_node_id_is_in_health_the_connection_log_and_the_logs(
    cluster: Cluster, room: str
) -> None:
    node = cluster.nodes[2]
    client, _, _ = await enter(node.ws_url, wallet := Wallet(), room)
    await client.close()
    async with httpx.AsyncClient(timeout=5) as http:
        body = (await http.get(node.url + "/health")).json()

    def logged() -> dict[str, Any] | None:
        with MongoClient(cluster.mongo_uri) as mongo:
            found: dict[str, Any] | None = mongo[CLUSTER_DB].connection_logs.find_one(
                {"walletAddress": wallet.address}
            )
            return found

    async def entry() -> dict[str, Any] | None:
        return await asyncio.to_thread(logged)

    log_entry = await eventually(entry, "the connection is logged", timeout=10)
    records = node.serve.log_records()

    assert (body["node"], body["redis"], body["status"]) == ("node-c", "ok", "healthy")
    assert log_entry["nodeId"] == "node-c"
    assert records and all(r.get("node") == "node-c" for r in records)


async def test_an_admin_revocation_on_one_node_closes_the_player_on_another(
    cluster: Cluster, room: str
) -> None:
    player, signed, _ = await enter(cluster.nodes[2].ws_url, wallet := Wallet(), room)
    token = await http_token(cluster.nodes[0].url, cluster.admin)

    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.post(
            cluster.nodes[0].url + f"/admin/users/{wallet.address}/revoke",
            headers={"Authorization": f"Bearer {token}"},
            json={"reason": "account sharing"},
        )
    code = await closed_with(player)
    again = await connect(cluster.nodes[1])
    refused = await again.call({"type": "join", "token": signed["token"], "room": room})
    await again.close()

    assert response.status_code == 200
    assert response.json() == {"walletAddress": wallet.address, "revoked": 1}
    assert code == 4003
    assert refused["code"] == "not_authenticated"
