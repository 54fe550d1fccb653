"""`clubpengu admin erase` reaches the running nodes' connections (docs/privacy.md,
"Erasure"): with REDIS_URL it publishes the erasure on the bus the nodes listen on; without,
the one node finds the started job by itself (its erasure sweep). Either way the player's
socket is closed with 4003, and what the node still writes of the wallet afterwards (the
leave's event) creates nothing."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from typing import Any

from pymongo import AsyncMongoClient

from clubpengu.config import Settings
from tests.conftest import TEST_DB
from tests.redis_server import RedisServer
from tests.support import CLUBPENGU, Wallet, enter, run_server
from tests.waiting import eventually

Mongo = AsyncMongoClient[dict[str, Any]]


async def erase_by_cli(settings: Settings, wallet: str, **env: str) -> dict[str, Any]:
    environment = {
        **os.environ, "CLUBPENGU_ENV": "test", "MONGODB_URI": str(settings.mongodb_uri),
        "MONGODB_DB": TEST_DB, "JWT_SECRET": settings.jwt_secret, **env,
    }  # fmt: skip
    if "REDIS_URL" not in env:
        environment.pop("REDIS_URL", None)
    done = await asyncio.to_thread(
        subprocess.run, [str(CLUBPENGU), "admin", "erase", wallet, "--reason", "GDPR 77"],
        env=environment, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    job: dict[str, Any] = json.loads(done.stdout)
    return job


async def traces(mongo: Mongo, wallet: str) -> dict[str, int]:
    db = mongo[TEST_DB]
    found = {}
    for name in await db.list_collection_names():
        count = len([d async for d in db[name].find() if wallet in json.dumps(d, default=str)])
        if count:
            found[name] = count
    return found


async def test_without_redis_the_node_finds_the_erasure_and_closes_the_socket(
    settings: Settings, mongo_client: Mongo
) -> None:
    wallet = Wallet()
    fast = settings.with_overrides(erasure_sweep_interval=0.5)
    async with run_server(fast, mongo_client) as server:
        client, _, _ = await enter(server.ws_url, wallet, room="town")

        job = await erase_by_cli(settings, wallet.address)

        await eventually(lambda: client.ws.close_code is not None, "the socket closed", timeout=30)

        async def left_of_wallet() -> dict[str, int]:
            await server.node.services.events.flush()
            await server.node.services.connection_log.flush()
            return await traces(mongo_client, wallet.address)

        # The socket may be closed by the session's revocation before the node's sweep
        # notices the erasure; the leave's events written in between are deleted again
        # when it does (services/erasure.py `_delete_left`), within a sweep or two.
        await eventually(left_of_wallet, "nothing of the wallet left", ready=lambda t: t == {})

    assert job["status"] == "done"
    assert client.ws.close_code == 4003


async def test_with_redis_the_cli_publishes_the_erasure_to_the_nodes(
    settings: Settings, mongo_client: Mongo, redis_server: RedisServer
) -> None:
    """The sweep is made too slow to be what closes it: the bus does."""
    wallet = Wallet()
    clustered = settings.with_overrides(redis_url=redis_server.url, erasure_sweep_interval=3600.0)
    async with run_server(clustered, mongo_client) as server:
        client, _, _ = await enter(server.ws_url, wallet, room="town")

        job = await erase_by_cli(settings, wallet.address, REDIS_URL=redis_server.url)

        await eventually(lambda: client.ws.close_code is not None, "the socket closed", timeout=30)
        await server.node.services.events.flush()
        await server.node.services.connection_log.flush()
        left = await traces(mongo_client, wallet.address)

    assert job["status"] == "done"
    assert client.ws.close_code == 4003
    assert left == {}
