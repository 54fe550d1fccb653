"""`kill -9` of the server with a player signed in and joined: the connection's history
entry, written at open and updated at sign-in and join, is in the database; only its close
is missing (docs/privacy.md#connection-history)."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

from pymongo import MongoClient

from tests.chaos.support import serve_env
from tests.support import Wallet, connect, sign_in, start_serve, stop_serve, wait_healthy
from tests.waiting import eventually

DATABASE = "clubpengu_chaos_connection_log"


async def test_a_killed_servers_open_connection_keeps_its_entry(
    mongo_uri: str, tmp_path: Path
) -> None:
    mongo: MongoClient[dict[str, Any]] = MongoClient(mongo_uri, tz_aware=True)
    mongo.drop_database(DATABASE)
    wallet = Wallet()
    serve = start_serve(tmp_path / "data", serve_env(mongo_uri, DATABASE, Wallet()))
    try:
        wait_healthy(serve)
        ws = serve.url.replace("http", "ws") + "/ws"
        async with connect(ws) as client:
            await sign_in(client, wallet, clientDeviceId="device-42")
            joined = await client.request({"type": "join", "room": "town"})
            assert joined["type"] == "joined", joined
            logs = mongo[DATABASE]["connection_logs"]

            def joined_entry() -> dict[str, Any] | None:
                return logs.find_one({"walletAddress": wallet.address, "joinedAt": {"$ne": None}})

            await eventually(joined_entry, "the join is in the connection history", timeout=30)
            stop_serve(serve, signal.SIGKILL)
        entry = joined_entry()
    finally:
        if serve.process.poll() is None:
            stop_serve(serve, signal.SIGKILL)
    assert entry is not None
    assert entry["disconnectedAt"] is None
    assert entry["signedInAt"] is not None and entry["roomsVisited"] == ["town"]
    assert entry["deviceHash"] and "device-42" not in entry["deviceHash"]
    assert len(entry["deviceHash"]) == 64
    assert entry["expiresAt"] > entry["connectedAt"]
    mongo.drop_database(DATABASE)
    mongo.close()
