"""Buddies across nodes (real `clubpengu serve` processes on one Redis): requests and
answers reach a player on another node, `buddy_online` reaches every online buddy on
every node, a session that moves to another node is not shown leaving, find_buddy
follows across nodes, and the ignore filter holds for chat said on another node."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest

from tests.cluster.support import Cluster
from tests.support import Client, Wallet, enter
from tests.transport.buddy_support import befriend
from tests.waiting import silent

pytestmark = pytest.mark.slow


async def _close(*clients: Client) -> None:
    for client in clients:
        await client.close()


async def test_a_request_and_its_answer_reach_players_on_other_nodes(
    cluster: Cluster, room: str
) -> None:
    ann, bob = Wallet(), Wallet()
    a, _, _ = await enter(cluster.nodes[0].ws_url, ann, room)
    b, _, _ = await enter(cluster.nodes[1].ws_url, bob, room)

    await a.call({"type": "buddy_request", "walletAddress": bob.address})
    asked = await b.recv_type("buddy_requested")
    await b.call({"type": "buddy_accept", "walletAddress": ann.address})
    added = await a.recv_type("buddy_added")
    await _close(a, b)

    assert asked["from"]["walletAddress"] == ann.address
    assert added["buddy"] | {"username": ""} == {
        "walletAddress": bob.address, "username": "", "online": True, "room": room,
    }  # fmt: skip


async def test_a_request_to_someone_offline_arrives_at_their_next_join_on_any_node(
    cluster: Cluster, room: str
) -> None:
    ann, bob = Wallet(), Wallet()
    b, _, _ = await enter(cluster.nodes[1].ws_url, bob, room)
    await b.close()
    a, _, _ = await enter(cluster.nodes[0].ws_url, ann, room)

    sent = await a.call({"type": "buddy_request", "walletAddress": bob.address})
    b, _, _ = await enter(cluster.nodes[2].ws_url, bob, room)
    asked = await b.recv_type("buddy_requested")
    await b.call({"type": "buddy_accept", "walletAddress": ann.address})
    added = await a.recv_type("buddy_added")
    await _close(a, b)

    assert sent["type"] == "buddy_request_sent"
    assert asked["from"]["walletAddress"] == ann.address
    assert added["buddy"]["walletAddress"] == bob.address


async def test_buddy_online_reaches_every_online_buddy_on_every_node(
    cluster: Cluster, room: str
) -> None:
    ann, bob, cat = Wallet(), Wallet(), Wallet()
    a, _, _ = await enter(cluster.nodes[0].ws_url, ann, room)
    b, _, _ = await enter(cluster.nodes[1].ws_url, bob, room)
    c, _, _ = await enter(cluster.nodes[2].ws_url, cat, room)
    await befriend(b, a, ann, bob)
    await befriend(c, a, ann, cat)
    await a.close()
    left = [await b.recv_type("buddy_offline"), await c.recv_type("buddy_offline")]

    a, _, _ = await enter(cluster.nodes[0].ws_url, ann, room)
    came = [await b.recv_type("buddy_online", 1.0), await c.recv_type("buddy_online", 1.0)]
    await _close(a, b, c)

    assert left == [{"type": "buddy_offline", "walletAddress": ann.address}] * 2
    assert came == [{"type": "buddy_online", "walletAddress": ann.address, "room": room}] * 2


async def test_a_session_taken_over_on_another_node_is_not_shown_leaving(
    cluster: Cluster, room: str
) -> None:
    ann, bob = Wallet(), Wallet()
    a, _, _ = await enter(cluster.nodes[0].ws_url, ann, room)
    b, _, _ = await enter(cluster.nodes[1].ws_url, bob, room)
    await befriend(b, a, ann, bob)

    again, _, _ = await enter(cluster.nodes[2].ws_url, ann, room)
    told = await _presence_frames(b, within=1.5)
    found = await b.call({"type": "find_buddy", "walletAddress": ann.address})
    await _close(a, again, b)

    # The old session's leave is published after the new join; it must not be shown.
    assert told == [{"type": "buddy_online", "walletAddress": ann.address, "room": room}]
    assert found["online"] is True and found["room"] == room


async def _presence_frames(client: Client, within: float) -> list[dict[str, Any]]:
    """Every buddy presence push that reaches `client` within `within` seconds."""
    frames: list[dict[str, Any]] = []
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(within):
            while True:
                frame = await client.recv(within)
                if frame["type"] in ("buddy_online", "buddy_offline", "buddy_moved"):
                    frames.append(frame)
    return frames


async def test_find_buddy_follows_a_buddy_on_another_node(cluster: Cluster) -> None:
    ann, bob = Wallet(), Wallet()
    here, there = cluster.room(), cluster.room()
    a, _, _ = await enter(cluster.nodes[0].ws_url, ann, here)
    b, _, _ = await enter(cluster.nodes[1].ws_url, bob, there)
    await befriend(a, b, bob, ann)

    found = await a.call({"type": "find_buddy", "walletAddress": bob.address})
    followed = await a.call({"type": "change_room", "room": found["follow"]})
    moved = await b.recv_type("buddy_moved")
    await _close(a, b)

    assert found["room"] == there and found["follow"] == f"{there}~1"
    assert followed["room"] == there
    assert bob.address in [p["walletAddress"] for p in followed["players"]]
    assert moved == {"type": "buddy_moved", "walletAddress": ann.address, "room": there}


async def test_chat_said_on_another_node_is_filtered_for_the_ignorer(
    cluster: Cluster, room: str
) -> None:
    ann, pest = Wallet(), Wallet()
    a, _, _ = await enter(cluster.nodes[0].ws_url, ann, room)
    p, _, _ = await enter(cluster.nodes[1].ws_url, pest, room)
    other, _, _ = await enter(cluster.nodes[2].ws_url, Wallet(), room)

    await a.call({"type": "ignore", "walletAddress": pest.address})
    await p.call({"type": "chat", "text": "can you hear me?"})
    await p.call({"type": "emote", "emote": "wave"})
    heard = await other.recv_type("chat")
    seen = await other.recv_type("emote")
    quiet = await silent(a, kind="chat") and await silent(a, kind="emote")
    await _close(a, p, other)

    assert heard["text"] == "can you hear me?" and seen["emote"] == "wave"
    assert quiet
