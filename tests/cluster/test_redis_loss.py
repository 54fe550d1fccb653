"""Redis stopped under two running nodes: each keeps its local play going and reports
itself degraded; when Redis comes back (restarted empty), cross-node traffic resumes and
the session owners are put back, and no client had to reconnect."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cluster.support import Cluster, connect, health, running_cluster
from tests.realtime.support import closed_with
from tests.redis_server import running_redis
from tests.support import Client, Wallet, enter
from tests.waiting import eventually

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pair(mongo_uri: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    directory: Path = tmp_path_factory.mktemp("redis-loss")
    with (
        running_redis(directory / "redis") as redis,
        running_cluster(directory, mongo_uri, redis, 2) as cluster,
    ):
        yield cluster


async def _statuses(cluster: Cluster) -> list[tuple[int, str, str]]:
    found = []
    for node in cluster.nodes:
        code, body = await health(node)
        found.append((code, body["status"], body["redis"]))
    return found


async def _all_health(cluster: Cluster, expected: tuple[int, str, str]) -> None:
    async def check() -> bool:
        return all(status == expected for status in await _statuses(cluster))

    await eventually(check, f"every node answers {expected}", timeout=15)


async def _chat_arrives(speaker: Client, listener: Client, text: str) -> bool:
    """Say `text` until the listener hears it (a message sent while the relay was still
    resubscribing is lost: pub/sub is at-most-once)."""

    async def attempt() -> bool:
        await speaker.send({"type": "chat", "text": text})
        try:
            while True:
                frame = await listener.recv_type("chat", timeout=0.5)
                if frame["text"] == text:
                    return True
        except TimeoutError:
            return False

    return bool(await eventually(attempt, f"{text!r} heard", timeout=15, every=0))


async def _heard(client: Client, text: str) -> bool:
    while (await client.recv_type("chat"))["text"] != text:
        pass
    return True


async def _seen_move(client: Client, entry: dict[str, Any]) -> bool:
    while entry not in (await client.recv_type("moves"))["moves"]:
        pass
    return True


def _health_check(port: int) -> bool:
    result = subprocess.run(
        [sys.executable, "-m", "clubpengu.healthcheck"],
        env={"PORT": str(port)},
        capture_output=True,
        timeout=30,
    )
    return result.returncode == 0


async def _pong(client: Client) -> bool:
    reply: dict[str, Any] = await client.call({"type": "ping"})
    return reply["type"] == "pong"


async def test_nodes_keep_local_play_without_redis_and_resume_when_it_returns(
    pair: Cluster,
) -> None:
    room, (one, two), redis = pair.room(), pair.nodes, pair.redis
    a, signed_a, joined_a = await enter(one.ws_url, Wallet(), room)
    b, _, _ = await enter(two.ws_url, Wallet(), room)
    c, _, _ = await enter(one.ws_url, Wallet(), room)
    assert await _chat_arrives(b, a, "before the outage")

    redis.stop()
    await _all_health(pair, (503, "degraded", "error"))
    await a.send({"type": "chat", "text": "local only"})
    local_chat = await _heard(c, "local only")
    await a.send({"type": "move", "x": 150, "y": 120})
    local_move = {"playerId": joined_a["playerId"], "x": 150, "y": 120}
    moved = await _seen_move(c, local_move)
    d, _, joined_d = await enter(one.ws_url, Wallet(), room)  # sign-in and join still work
    container_healthy = _health_check(one.serve.port)

    redis.start()  # on the same port, empty (no persistence)
    await _all_health(pair, (200, "healthy", "ok"))
    resumed = await _chat_arrives(b, a, "after the outage")
    resumed_back = await _chat_arrives(a, b, "and back")
    still_open = [await _pong(client) for client in (a, b, c, d)]
    kicked_code = await _join_elsewhere(two, signed_a["token"], room, a)
    for client in (b, c, d):
        await client.close()

    assert local_chat and moved
    assert joined_d["type"] == "joined"
    assert container_healthy  # degraded, not dead: no orchestrator restarts the node
    assert resumed and resumed_back
    assert still_open == [True, True, True, True]
    # Redis came back empty; node one put a's session owner back, so a join of a's wallet
    # on node two still kicks the connection on node one.
    assert kicked_code == 4001


async def _join_elsewhere(node: Any, token: str, room: str, older: Client) -> int | None:
    newer = await connect(node)
    joined = await newer.call({"type": "join", "token": token, "room": room})
    assert joined["type"] == "joined", joined
    code = await closed_with(older)
    await newer.close()
    return code
