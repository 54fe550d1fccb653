"""Room traffic across nodes (real `clubpengu serve` processes on one Redis): joins,
leaves, chat, emotes and movement reach the room's members on every node, once."""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

import pytest

from tests.cluster.support import Cluster
from tests.support import Client, Wallet, enter
from tests.waiting import silent

pytestmark = pytest.mark.slow
TICK = 0.1


async def _room_of_three(cluster: Cluster, room: str) -> list[tuple[Client, str]]:
    """A player on each node, in `room`, with the joins' pushes read."""
    players = []
    for node in cluster.nodes:
        client, _, joined = await enter(node.ws_url, Wallet(), room)
        players.append((client, joined["playerId"]))
    for index, (client, _) in enumerate(players):
        for _ in range(len(players) - 1 - index):
            await client.recv_type("player_joined")
    return players


async def _close_all(players: list[tuple[Client, str]]) -> None:
    for client, _ in players:
        await client.close()


async def test_a_join_and_a_leave_on_one_node_are_seen_on_another(
    cluster: Cluster, room: str
) -> None:
    first, second = cluster.nodes[0], cluster.nodes[1]
    watcher, _, _ = await enter(first.ws_url, Wallet(), room)
    visitor, _, joined = await enter(second.ws_url, Wallet(), room)

    arrived = await watcher.recv_type("player_joined")
    await visitor.close()
    left = await watcher.recv_type("player_left")
    await watcher.close()

    assert arrived["player"]["playerId"] == joined["playerId"]
    assert left == {"type": "player_left", "playerId": joined["playerId"]}


async def test_chat_and_emotes_reach_every_node_once(cluster: Cluster, room: str) -> None:
    players = await _room_of_three(cluster, room)
    speaker, speaker_id = players[1]

    await speaker.send({"type": "chat", "text": "hello from node b"})
    await speaker.send({"type": "emote", "emote": "wave"})
    heard: list[list[dict[str, Any]]] = []
    for client, _ in players:
        chat = await client.recv_type("chat")
        emote = await client.recv_type("emote")
        heard.append([chat, emote])
    quiet = [await silent(client) for client, _ in players]
    await _close_all(players)

    for chat, emote in heard:
        assert (chat["playerId"], chat["text"]) == (speaker_id, "hello from node b")
        assert emote == {"type": "emote", "playerId": speaker_id, "emote": "wave"}
    assert all(quiet)  # nothing twice


async def _moves_until(client: Client, wanted: set[tuple[str, float]]) -> list[list[Any]]:
    """`moves` batches until every (playerId, x) in `wanted` has been seen."""
    batches: list[list[Any]] = []
    seen: set[tuple[str, float]] = set()
    while not wanted <= seen:
        frame = await client.recv_type("moves", timeout=3)
        entries = [(m["playerId"], m["x"]) for m in frame["moves"]]
        batches.append(entries)
        seen.update(entries)
    return batches


async def _next_tick_plus(offset: float) -> None:
    """Sleep until `offset` seconds after the next tick (ticks are on the wall clock's
    multiples of the tick interval on every node)."""
    now = time.time()
    await asyncio.sleep((math.floor(now / TICK) + 1) * TICK + offset - now)


async def test_movers_on_every_node_arrive_in_one_batch_per_tick_without_duplicates(
    cluster: Cluster, room: str
) -> None:
    players = await _room_of_three(cluster, room)
    rounds, together = 15, 0
    for step in range(1, rounds + 1):
        await _next_tick_plus(0.03)  # well before the next cut, 20 ms ahead of the tick
        wanted = {(player_id, 100.0 + step + index) for index, (_, player_id) in enumerate(players)}
        for index, (client, _) in enumerate(players):
            await client.send({"type": "move", "x": 100 + step + index, "y": 100})
        per_client = [await _moves_until(client, wanted) for client, _ in players]
        for batches in per_client:
            entries = [entry for batch in batches for entry in batch]
            assert len(entries) == len(set(entries)), batches  # never twice
        together += all(len(batches) == 1 for batches in per_client)
    await _close_all(players)

    # Each client gets one batch holding the movers of every node; a round can split only
    # when the machine stalls a node past the cut (three of ten did once, five of fifteen
    # another time, in whole-suite runs on two cores: three nodes and the suite share
    # them). Without the cut's lead every round splits: none is together. So the bar is
    # well above none and well below a quiet machine's all: that tells the two apart
    # without timing the machine.
    assert together >= rounds * 0.4, together
