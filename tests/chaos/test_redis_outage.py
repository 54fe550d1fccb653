"""Redis is killed under load with three nodes, then comes back (docs/testing.md#chaos-tests).

Dozens of players on three `clubpengu serve` nodes walk and chat in shared rooms, each room
holding players of every node. redis-server is killed (SIGKILL) mid-load and started
again, empty, on the same port (tests/cluster/test_redis_loss.py checks the same with a
handful of players; this is the same behaviour under load):

- every node reports itself degraded (503, `"redis":"error"`) and keeps serving its own
  players: their moves and chat still reach their room-mates on the same node;
- no client is disconnected, and none reconnects;
- when Redis is back every node is healthy again and cross-node moves and chat resume on
  the same connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.chaos.support import (
    Chatter,
    Player,
    enter_all,
    finish,
    health,
    run_until,
    wait_health,
)
from tests.cluster.support import Cluster, running_cluster
from tests.redis_server import running_redis
from tests.waiting import ConditionNotMet, eventually

DATABASE = "clubpengu_chaos_redis"
NODES = 3


@dataclass(frozen=True)
class Scale:
    per_room: int  # players in each room, spread over the nodes
    rooms: int
    warm: float
    hold: float  # seconds the outage lasts once every node is degraded


SHORT = Scale(per_room=6, rooms=4, warm=1.0, hold=2.0)  # 24 players
LONG = Scale(per_room=12, rooms=5, warm=5.0, hold=20.0)  # 60 players; longer than NODE_TIMEOUT


@pytest.fixture(scope="module")
def cluster(mongo_uri: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    directory: Path = tmp_path_factory.mktemp("chaos-redis")
    with (
        running_redis(directory / "redis") as redis,
        running_cluster(directory, mongo_uri, redis, NODES, DATABASE, MOVE_RATE="50/s") as nodes,
    ):
        yield nodes


def _statuses(found: list[tuple[int, dict[str, object]]]) -> set[tuple[int, object]]:
    return {(status, body.get("redis")) for status, body in found}


async def _all_nodes(cluster: Cluster, expected: tuple[int, str], timeout: float = 30) -> float:
    """Seconds until every node's /health answers `expected` (status, redis)."""
    started = time.monotonic()
    for node in cluster.nodes:
        await wait_health(node.url, lambda s, b: (s, b.get("redis")) == expected, timeout)
    return time.monotonic() - started


@pytest.mark.timeout(240)
@pytest.mark.parametrize(
    "scale",
    [pytest.param(SHORT, id="short"), pytest.param(LONG, id="long", marks=pytest.mark.chaos_long)],
)
async def test_redis_dies_under_load_and_every_node_carries_on(
    cluster: Cluster, scale: Scale
) -> None:
    rooms = [cluster.room() for _ in range(scale.rooms)]
    players = [Player(cluster.nodes[i % NODES].ws_url) for i in range(scale.per_room * scale.rooms)]
    node_of = {id(p): i % NODES for i, p in enumerate(players)}
    room_of = {id(p): rooms[i // scale.per_room] for i, p in enumerate(players)}
    await enter_all(players, lambda i: rooms[i // scale.per_room])
    chatters = [Chatter(player, index) for index, player in enumerate(players)]
    mates = {
        id(p): [q for q in players if q is not p and room_of[id(q)] == room_of[id(p)]]
        for p in players
    }

    def same_node(p: Player) -> list[Player]:
        return [q for q in mates[id(p)] if node_of[id(q)] == node_of[id(p)]]

    def other_nodes(p: Player) -> list[Player]:
        return [q for q in mates[id(p)] if node_of[id(q)] != node_of[id(p)]]

    def all_see(pairs: dict[int, list[Player]], since: float) -> bool:
        return all(p.moves_of(q, since) > 0 for p in players for q in pairs[id(p)])

    cross = {id(p): other_nodes(p) for p in players}
    local = {id(p): same_node(p) for p in players}
    stop, tasks = await run_until([c.run for c in chatters])
    started = time.monotonic()
    # Cross-node traffic flows.
    await eventually(lambda: all_see(cross, started), every=0.1, timeout=30)
    await asyncio.sleep(started + scale.warm - time.monotonic())  # traffic, `warm` s in all

    killed = time.monotonic()
    cluster.redis.kill()
    degraded_after = await _all_nodes(cluster, (503, "error"))
    degraded = time.monotonic()
    await asyncio.sleep(degraded + scale.hold - time.monotonic())  # the outage, `hold` s
    restarted = time.monotonic()
    cluster.redis.start()  # the same port, empty (no persistence)
    healthy_after = await _all_nodes(cluster, (200, "ok"))
    back = time.monotonic()
    await eventually(lambda: all_see(cross, back), every=0.1, timeout=30)
    resumed = time.monotonic()
    resumed_after = resumed - back
    await asyncio.sleep(resumed + scale.warm + 1 - time.monotonic())  # traffic after it
    ended = time.monotonic()
    await finish(stop, tasks)
    with contextlib.suppress(ConditionNotMet):  # the last lines said may still be on their way
        await eventually(lambda: _all_heard(chatters, mates, resumed, ended), every=0.1, timeout=5)

    local_moves = [p.moves_of(q, degraded, restarted) for p in players for q in local[id(p)]]
    cross_moves = [p.moves_of(q, degraded, restarted) for p in players for q in cross[id(p)]]
    local_chat = _heard(chatters, local, degraded, restarted)
    resumed_chat = _heard(chatters, mates, resumed, ended)
    left = sum(frame.get("type") == "player_left" for p in players for frame in p.frames)
    still_open = [p.open for p in players]
    final = _statuses([await health(node.url) for node in cluster.nodes])
    for player in players:
        await player.close()
    print(
        f"\nchaos redis outage: {len(players)} players on {NODES} nodes in {scale.rooms} rooms; "
        f"every node degraded {degraded_after:.2f} s after the kill, healthy "
        f"{healthy_after:.2f} s after the restart, cross-node moves everywhere again "
        f"{resumed_after:.2f} s after that; during the outage same-node moves seen per pair "
        f"min {min(local_moves)}, cross-node total {sum(cross_moves)}; same-node chat "
        f"heard {local_chat[0]}/{local_chat[1]}, all chat after the recovery heard "
        f"{resumed_chat[0]}/{resumed_chat[1]}; player_left frames {left}; "
        f"kill → recovery {back - killed:.2f} s"
    )

    assert all(still_open), "a client was disconnected"
    assert min(local_moves) > 0, "a node stopped delivering its own players' moves"
    assert local_chat[0] == local_chat[1] > 0
    assert resumed_chat[0] == resumed_chat[1] > 0
    assert left == 0, "players left someone's view although nobody left"
    assert final == {(200, "ok")}


def _heard(
    chatters: list[Chatter], listeners: dict[int, list[Player]], since: float, until: float
) -> tuple[int, int]:
    """Lines said in [since, until], and how many of them every listener heard."""
    said = heard = 0
    for chatter in chatters:
        for text, at in chatter.said.items():
            if since <= at <= until:
                said += 1
                heard += all(text in p.chats_seen for p in listeners[id(chatter.player)])
    return heard, said


def _all_heard(
    chatters: list[Chatter], listeners: dict[int, list[Player]], since: float, until: float
) -> bool:
    heard, said = _heard(chatters, listeners, since, until)
    return heard == said
