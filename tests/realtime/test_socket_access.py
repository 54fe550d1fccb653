"""The direct paths to uvicorn's side of a socket (transport/socket_access.py): they must
be active under the pinned uvicorn, deliver frames intact, and step aside when they may
not be used (a compression extension, a full socket)."""

from __future__ import annotations

from typing import Any

import websockets
from pymongo import AsyncMongoClient

from clubpengu.config import Settings
from tests.realtime.support import acked, world
from tests.support import Client, RunningServer, Wallet, enter, sign_in
from tests.waiting import eventually

Mongo = AsyncMongoClient[dict[str, Any]]


def _connection_of(server: RunningServer, player_id: str) -> Any:
    return next(c for c in server.node.realtime.connections if c.player_id == player_id)


async def test_under_uvicorn_every_direct_path_is_available(
    settings: Settings, mongo_client: Mongo
) -> None:
    async with world(settings, mongo_client) as server:
        client, _, joined = await enter(server.ws_url, Wallet(), room="town")
        connection = _connection_of(server, joined["playerId"])
        open_socket_gone = connection.peer_gone()
        await client.close()
        await eventually(connection.peer_gone, "the closed socket seen as gone")

    transport = connection.transport
    assert transport._send is not None
    assert transport._abort is not None
    assert transport._write_frame is not None
    assert open_socket_gone is False


async def test_long_shared_frames_arrive_intact(settings: Settings, mongo_client: Mongo) -> None:
    async with world(settings, mongo_client) as server:
        clients = [await enter(server.ws_url, Wallet(), room="plaza") for _ in range(3)]
        talker = clients[0][0]
        texts = ["a" * 200, "é" * 200, "🐧" * 200]

        for text in texts:
            await acked(talker, {"type": "chat", "text": text})
        heard = [[(await c.recv_type("chat"))["text"] for _ in texts] for c, _, _ in clients[1:]]
        for client, _, _ in clients:
            await client.close()

    assert heard == [texts, texts]


async def test_with_compression_negotiated_frames_go_through_asgi(
    settings: Settings, mongo_client: Mongo
) -> None:
    async with world(settings, mongo_client, ws_compression=True) as server:
        ws = await websockets.connect(server.ws_url, compression="deflate", max_queue=None)
        deflating = Client(ws)
        await sign_in(deflating, Wallet())
        await deflating.request({"type": "join", "room": "dock"})
        plain, _, _ = await enter(server.ws_url, Wallet(), room="dock")

        await acked(plain, {"type": "chat", "text": "squeeze me " * 10})
        heard = await deflating.recv_type("chat")
        await deflating.close()
        await plain.close()

    assert ws.protocol.extensions  # deflate was in use on that socket
    assert heard["text"] == ("squeeze me " * 10).strip()
