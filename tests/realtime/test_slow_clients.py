"""Slow and dead clients over real sockets: a client that stops reading is closed without
holding up its room; a silent one is dropped by the keepalive."""

from __future__ import annotations

import asyncio
import secrets
import socket
import time
from typing import Any

import websockets
from pymongo import AsyncMongoClient

from clubpengu.config import Rate, Settings
from clubpengu.models import ConnectionLog
from tests.realtime.support import drop, world
from tests.support import Client, RunningServer, Wallet, enter, sign_in
from tests.waiting import eventually


async def _stuck_client(server: RunningServer, wallet: Wallet, room: str) -> tuple[Client, str]:
    """A joined client that then stops reading, on a socket with small buffers.

    Over loopback (64 KiB segments) the kernel gives each socket a send buffer of
    megabytes, which a real slow link would never get; the server side's buffer is
    shrunk so that the test fills it in seconds rather than minutes.
    """
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", server.port))
    ws = await websockets.connect(server.ws_url, sock=sock, max_size=None, compression=None)
    client = Client(ws)
    await sign_in(client, wallet)
    joined = await client.request({"type": "join", "room": room})
    own_port = sock.getsockname()[1]
    for protocol in server.server.server_state.connections:
        if protocol.transport.get_extra_info("peername")[1] == own_port:
            server_side = protocol.transport.get_extra_info("socket")
            server_side.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    ws.transport.pause_reading()
    return client, joined["playerId"]


async def _closed_for_slowness() -> list[ConnectionLog] | None:
    logs = await ConnectionLog.find(ConnectionLog.connection_id != "").to_list()
    return logs if 1008 in [log.close_code for log in logs] else None


async def test_a_client_that_stops_reading_is_closed_and_does_not_delay_the_room(
    settings: Settings, mongo_client: AsyncMongoClient[dict[str, Any]]
) -> None:
    async with world(
        settings,
        mongo_client,
        tick_rate=20,
        chat_rate=Rate(1000, 1.0),
        slow_client_seconds=1.0,
        outgoing_queue_limit=16,
    ) as server:
        talker, _, _ = await enter(server.ws_url, Wallet(), room="plaza")
        watcher, _, _ = await enter(server.ws_url, Wallet(), room="plaza")
        slow, slow_id = await _stuck_client(server, Wallet(), "plaza")
        started = time.monotonic()
        left = None
        gaps: list[float] = []
        while left is None and time.monotonic() - started < 20:
            text = secrets.token_hex(90)
            sent = time.monotonic()
            await talker.send({"type": "chat", "text": text})
            while True:
                frame = await watcher.recv()
                if frame["type"] == "player_left":
                    left = frame
                if frame["type"] == "chat" and frame["text"] == text:
                    gaps.append(time.monotonic() - sent)
                    break
            await asyncio.sleep(0.005)  # the talker's pace: part of the load, not a wait
        logs = await eventually(_closed_for_slowness, "the slow client's close is logged")
        await drop(slow)
        await talker.close()
        await watcher.close()

    assert left == {"type": "player_left", "playerId": slow_id}
    assert time.monotonic() - started < 20
    assert max(gaps) < 0.5  # the room's traffic kept flowing while one client was stuck
    assert 1008 in [log.close_code for log in logs]


async def test_a_client_that_stops_answering_pings_is_dropped_after_the_idle_timeout(
    settings: Settings, mongo_client: AsyncMongoClient[dict[str, Any]]
) -> None:
    async with world(
        settings, mongo_client, ws_ping_interval=0.2, ws_idle_timeout=0.6, reconnect_grace=0
    ) as server:
        frozen, _, joined = await enter(server.ws_url, Wallet(), room="dock")
        alive, _, _ = await enter(server.ws_url, Wallet(), room="dock")
        frozen.ws.transport.pause_reading()  # no more pongs, as with a frozen tab
        started = time.monotonic()

        left = await alive.recv_type("player_left", timeout=5)
        elapsed = time.monotonic() - started
        await asyncio.sleep(0.8)  # the idle timeout (0.6 s) passes: answering pings, kept
        still_open = await alive.request({"type": "ping"})
        await drop(frozen)
        await alive.close()

    assert left == {"type": "player_left", "playerId": joined["playerId"]}
    assert 0.3 < elapsed < 2.0
    assert still_open["type"] == "pong"
