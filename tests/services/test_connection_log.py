"""The connection history's entries (docs/privacy.md#connection-history): the user agent
cut and hashed, never kept whole; a device id sent on a token join hashed like one sent on
`auth_request`; the writes of a thousand sign-ins merged into a few commands that do not
wait for the journal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
import websockets
from bson import ObjectId
from pymongo import AsyncMongoClient, monitoring

from clubpengu.config import Settings
from clubpengu.db import init_models
from clubpengu.services.connection_log import (
    USER_AGENT_CHARS,
    ConnectionLogService,
    Opened,
    _Write,
    merged,
)
from tests.conftest import TEST_DB
from tests.support import Client, RunningServer, Wallet, http_sign_in, run_server, sign_in
from tests.waiting import eventually

Mongo = AsyncMongoClient[dict[str, Any]]


@pytest.fixture
async def served(settings: Settings, mongo_client: Mongo) -> AsyncIterator[RunningServer]:
    async with run_server(settings, mongo_client) as server:
        yield server


async def entry_of(server: RunningServer, mongo: Mongo, wallet: Wallet, field: str) -> Any:
    """The wallet's connection entry once `field` is written (the node writes in the
    background)."""

    async def written() -> dict[str, Any] | None:
        await server.node.services.connection_log.flush()
        query = {"walletAddress": wallet.address, field: {"$ne": None}}
        found: dict[str, Any] | None = await mongo[TEST_DB].connection_logs.find_one(query)
        return found

    return await eventually(written, f"the entry's {field}")


async def test_a_long_user_agent_is_cut_and_hashed_never_kept_whole(
    served: RunningServer, mongo_client: Mongo
) -> None:
    agent = "Mozilla/5.0 (X11; Linux x86_64) " + "FingerprintableDetail/" + "9" * 200
    wallet = Wallet()

    async with websockets.connect(served.ws_url, user_agent_header=agent) as ws:
        await sign_in(Client(ws), wallet)
        entry = await entry_of(served, mongo_client, wallet, "signedInAt")

    assert entry["userAgent"] == agent[:USER_AGENT_CHARS]
    assert len(entry["userAgentHash"]) == 64 and entry["userAgentHash"] != agent
    assert "9" * 100 not in str(entry)


async def test_a_device_id_sent_on_a_token_join_is_kept_as_its_keyed_hash(
    served: RunningServer, mongo_client: Mongo
) -> None:
    wallet = Wallet()
    token = (await http_sign_in(served.url, wallet)).token

    async with websockets.connect(served.ws_url) as ws:
        client = Client(ws)
        joined = await client.request(
            {"type": "join", "token": token, "room": "town", "clientDeviceId": "tablet-9"}
        )
        entry = await entry_of(served, mongo_client, wallet, "joinedAt")

    assert joined["type"] == "joined", joined
    assert entry["deviceHash"] == served.node.services.connection_log.hash_device("tablet-9")
    assert "tablet-9" not in str(entry)


class Commands(monitoring.CommandListener):
    """Write commands on connection_logs: (name, asked the journal)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, bool]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        name = event.command_name
        if name in {"insert", "update"} and event.command[name] == "connection_logs":
            concern = event.command.get("writeConcern") or {}
            self.seen.append((name, bool(concern.get("j"))))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


async def test_a_thousand_sign_ins_cost_a_few_commands_none_waiting_for_the_journal(
    mongo_uri: str,
) -> None:
    commands = Commands()
    client: Mongo = AsyncMongoClient(mongo_uri, event_listeners=[commands], tz_aware=True)
    try:
        await init_models(client, TEST_DB)
        log = ConnectionLogService("node-1", 3600, "secret")
        now = datetime.now(UTC)
        wallets = [Wallet().address for _ in range(1000)]

        for n, wallet in enumerate(wallets):
            log_id = log.opened(Opened(f"c{n}", now, user_agent="Mozilla/5.0"))
            log.signed_in(log_id, wallet, device_id=f"device-{n % 7}")
        await log.flush()
        signed = await client[TEST_DB].connection_logs.count_documents(
            {"walletAddress": {"$in": wallets}, "signedInAt": {"$ne": None}}
        )
    finally:
        await client.close()

    assert signed == 1000
    assert len(commands.seen) <= 20, commands.seen
    assert not any(journal for _, journal in commands.seen)


def test_the_same_fields_set_on_several_entries_are_one_statement_for_all_of_them() -> None:
    """At shutdown (`begin_stop`) every close is stamped with one time: the closes after the
    same rooms with the same code are then one update of all their entries."""
    stopping = datetime(2027, 1, 4, 10, tzinfo=UTC)
    ids = [ObjectId() for _ in range(4)]
    writes = [
        _Write(log_id, fields={"disconnectedAt": stopping, "closeCode": 1001,
                               "roomsVisited": rooms})
        for log_id, rooms in zip(ids, (["town"], ["town"], ["town", "dock"], ["town"]), strict=True)
    ]  # fmt: skip

    operations = merged(writes)

    assert [type(op).__name__ for op in operations] == ["UpdateMany", "UpdateOne"]
    together, alone = (op._filter for op in operations)  # type: ignore[union-attr]
    assert together == {"_id": {"$in": [ids[0], ids[1], ids[3]]}}
    assert alone == {"_id": ids[2]}
