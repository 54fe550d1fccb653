"""Helpers for the realtime tests: a server whose tick the test drives, rooms files, and
readers that expect a frame or a close (silence: `tests.waiting.silent`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import websockets
from pymongo import AsyncMongoClient

from clubpengu.config import Settings
from tests.support import Client, RunningServer, run_server


@contextlib.asynccontextmanager
async def world(
    settings: Settings, mongo_client: AsyncMongoClient[dict[str, Any]], **changes: Any
) -> AsyncIterator[RunningServer]:
    """A server with no tick loop (tick_rate 0) unless `changes` sets one: the test calls
    `tick()` itself, so batching is deterministic."""
    async with run_server(
        settings.with_overrides(**{"tick_rate": 0, **changes}), mongo_client
    ) as s:
        yield s


async def tick(server: RunningServer) -> int:
    batches: int = await server.node.realtime.hub.tick_once()
    return batches


async def acked(client: Client, payload: dict[str, Any], rid: str = "a") -> dict[str, Any]:
    """Send with a rid and wait for its reply (`ok` or an error): the server has handled it."""
    await client.send(payload | {"rid": rid})
    async with asyncio.timeout(5):
        while True:
            frame = await client.recv()
            if frame.get("rid") == rid:
                return frame


class RecordingTransport:
    """A connection's socket that records the text frames it is sent and never blocks."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send_text(self, text: str) -> None:
        self.sent.append(text)

    async def close(self, code: int, reason: str = "") -> None:
        return None

    def abort(self) -> None:
        return None

    def write_frame(self, frame: bytes) -> bool:
        return False


async def closed_with(client: Client, timeout: float = 5.0) -> int | None:
    """Read until the server closes; the close code it sent (None: no close frame)."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                await client.ws.recv()
    except websockets.ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None
    return None


def rooms_file(tmp_path: Path, *rooms: dict[str, Any], default: str | None = None) -> Path:
    """A rooms file in the packaged catalogue's format; everyone arrives on the spawn point
    (no spread) unless a room says otherwise."""
    base = {"width": 1000, "height": 600, "spawn": [100, 100], "capacity": 10, "speed": 100,
            "spread": 0}  # fmt: skip
    full = [base | {"name": room["id"].title()} | room for room in rooms]
    path = tmp_path / "rooms.json"
    path.write_text(json.dumps({"default": default or full[0]["id"], "rooms": full}))
    return path


async def drop(client: Client) -> None:
    """End the client's socket without a closing handshake, as a network loss does."""
    client.ws.transport.abort()
    async with asyncio.timeout(5):
        await client.ws.wait_closed()
