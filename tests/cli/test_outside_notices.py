"""A balance changed outside the node that holds the player (here a `clubpengu admin`
process) reaches the player's live connection as a `coins` push."""

from __future__ import annotations

import asyncio
import os
import subprocess
from typing import Any

from pymongo import AsyncMongoClient

from clubpengu.config import Settings
from tests.conftest import TEST_DB
from tests.support import CLUBPENGU, Wallet, enter, grant, run_server

Client = AsyncMongoClient[dict[str, Any]]


async def test_a_cli_grant_in_another_process_reaches_the_signed_in_player(
    settings: Settings, mongo_client: Client, mongo_uri: str, tmp_path: Any
) -> None:
    wallet = Wallet()
    async with run_server(settings, mongo_client) as server:
        client, _, _ = await enter(server.ws_url, wallet)
        await grant(server, wallet, 10)
        assert (await client.recv_type("coins"))["coins"] == 10
        env = {**os.environ, "MONGODB_URI": mongo_uri, "MONGODB_DB": TEST_DB}
        cli = [
            str(CLUBPENGU),
            "admin",
            "adjust-coins",
            wallet.address,
            "40",
            "--reason",
            "ticket 7",
        ]

        done = await asyncio.to_thread(
            subprocess.run, cli, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
        )

        assert done.returncode == 0, done.stderr
        pushed = await client.recv_type("coins", timeout=5.0)
        assert (pushed["coins"], pushed["delta"], pushed["reason"]) == (50, 40, "admin_adjustment")
        await client.close()


async def test_a_node_tells_a_notice_once_and_only_to_its_own_players(
    settings: Settings, mongo_client: Client
) -> None:
    from clubpengu.services.notices import CoinsChanged
    from clubpengu.services.outside_notices import Outbox

    wallet, elsewhere = Wallet(), Wallet()
    async with run_server(settings, mongo_client) as server:
        client, _, _ = await enter(server.ws_url, wallet)
        await grant(server, wallet, 5)
        await client.recv_type("coins")
        outbox = Outbox(mongo_client[TEST_DB])
        outbox(elsewhere.address, CoinsChanged(7, 7, "admin_adjustment"))
        outbox(wallet.address, CoinsChanged(5, 0 + 3, "admin_adjustment"))
        await outbox.flush()

        pushed = await client.recv_type("coins")
        told_again = await server.node.outside_notices.poll()

        # The balance told is the one the node reads, not the writer's.
        assert (pushed["coins"], pushed["delta"]) == (5, 3)
        assert told_again == 0
        await client.close()
