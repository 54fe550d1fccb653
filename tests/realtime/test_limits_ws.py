"""Per-connection message limits over real sockets: `rate_limited`, and close 1008 for
sustained abuse and for repeated oversized frames (docs/protocol.md, Conventions)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from pymongo import AsyncMongoClient

from clubpengu.config import Rate, Settings
from tests.realtime.support import closed_with, world
from tests.support import Client, Wallet, connect, enter

Mongo = AsyncMongoClient[dict[str, Any]]


async def _replies(client: Client, frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Send every frame with a numbered rid at once; the replies, in rid order."""
    for number, frame in enumerate(frames):
        await client.send(frame | {"rid": number})
    replies: dict[int, dict[str, Any]] = {}
    while len(replies) < len(frames):
        frame = await client.recv()
        if "rid" in frame:
            replies[frame["rid"]] = frame
    return [replies[number] for number in range(len(frames))]


async def test_moves_over_the_move_rate_are_rate_limited(
    settings: Settings, mongo_client: Mongo
) -> None:
    # 5 a minute: no refill while the test runs, however slow the machine.
    async with world(settings, mongo_client, move_rate=Rate(5, 60.0)) as server:
        client, _, joined = await enter(server.ws_url, Wallet(), room="town")
        spot = joined["players"][0]
        moves = [{"type": "move", "x": spot["x"] + i, "y": spot["y"]} for i in range(8)]

        replies = await _replies(client, moves)
        await client.close()

    assert [r["type"] for r in replies[:5]] == ["ok"] * 5
    assert {r.get("code") for r in replies[5:]} == {"rate_limited"}
    assert "moves" in replies[5]["message"]


async def test_the_sixth_chat_in_five_seconds_is_rate_limited(
    settings: Settings, mongo_client: Mongo
) -> None:
    async with world(settings, mongo_client) as server:
        client, _, _ = await enter(server.ws_url, Wallet(), room="town")

        replies = await _replies(client, [{"type": "chat", "text": f"hi {i}"} for i in range(6)])
        await client.close()

    assert [r["type"] for r in replies] == ["ok"] * 5 + ["error"]
    assert replies[5]["code"] == "rate_limited"


async def test_other_messages_are_limited_by_the_message_rate(
    settings: Settings, mongo_client: Mongo
) -> None:
    async with (
        world(settings, mongo_client, message_rate=Rate(10, 60.0)) as server,
        connect(server.ws_url) as client,
    ):
        replies = await _replies(client, [{"type": "ping"}] * 11)

    assert [r["type"] for r in replies[:10]] == ["pong"] * 10
    assert replies[10]["code"] == "rate_limited"


async def test_sustained_abuse_is_closed_with_1008(settings: Settings, mongo_client: Mongo) -> None:
    async with (
        world(settings, mongo_client, message_rate=Rate(5, 1.0), abuse_seconds=0.5) as server,
        connect(server.ws_url) as client,
    ):
        for _ in range(400):
            try:
                await client.send({"type": "ping"})
            except Exception:
                break
            await asyncio.sleep(0.005)  # abuse sustained past abuse_seconds, not one burst
        code = await closed_with(client)

    assert code == 1008


async def test_repeated_oversized_frames_are_closed_with_1008(server: Any) -> None:
    big = json.dumps({"type": "ping", "pad": "x" * (17 * 1024)})
    async with connect(server.ws_url) as client:
        errors = [await client.request(big) for _ in range(4)]  # type: ignore[arg-type]
        await client.send(big)
        last = await client.recv()
        code = await closed_with(client)

    assert {e["code"] for e in errors} == {"frame_too_large"}
    assert last["code"] == "frame_too_large"
    assert code == 1008
