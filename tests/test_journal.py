"""Which writes wait for the journal on the embedded database: the ledger's transactions end
with a journal barrier, shared by the commits that wait together; presence, logs and
counters do not wait (docs/durability.md)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient, monitoring

from clubpengu.db import (
    BARRIER_COLLECTION,
    JournalBarrier,
    embedded_uri,
    init_models,
    journal_barrier,
    without_journal_wait,
)
from clubpengu.models import User
from clubpengu.services.connection_log import ConnectionLogService, Opened
from clubpengu.services.economy import EconomyService
from clubpengu.services.events import EventRecorder
from clubpengu.services.presence import PresenceService
from clubpengu.services.stats import StatsBatcher
from tests.conftest import TEST_DB

APP = "journal-test"
WALLET = "JournalWallet11111"


class Writes(monitoring.CommandListener):
    """(command, collection, j) of every write command started."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, bool]] = []
        self.sent = asyncio.Event()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name in {"insert", "update", "findAndModify", "commitTransaction"}:
            target = event.command[event.command_name]
            concern = event.command.get("writeConcern") or {}
            collection = target if isinstance(target, str) else "-"
            self.seen.append((event.command_name, collection, bool(concern.get("j"))))
            self.sent.set()

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@pytest.fixture
def writes() -> Writes:
    return Writes()


@pytest.fixture
async def client(mongo_uri: str, writes: Writes) -> AsyncIterator[AsyncMongoClient[dict[str, Any]]]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        mongo_uri, appname=APP, event_listeners=[writes], tz_aware=True
    )
    yield client
    await client.close()


def _barrier(client: AsyncMongoClient[dict[str, Any]]) -> JournalBarrier:
    barrier = journal_barrier(client, TEST_DB)
    assert barrier is not None, "the embedded database's URI asks for the journal"
    return barrier


async def test_a_ledger_change_is_answered_only_after_a_journaled_barrier_write(
    client: AsyncMongoClient[dict[str, Any]], writes: Writes
) -> None:
    await User(wallet_address=WALLET, username="Penguin0001").insert()
    economy = EconomyService(client, TEST_DB)

    await economy.apply(WALLET, 10, "grant", idempotency_key="journal-1")

    assert writes.seen[-2:] == [
        ("commitTransaction", "-", False),
        ("update", BARRIER_COLLECTION, True),
    ]


async def test_commits_waiting_together_share_one_barrier_write(
    client: AsyncMongoClient[dict[str, Any]], writes: Writes
) -> None:
    barrier = _barrier(client)

    await asyncio.gather(*(barrier.wait() for _ in range(20)))
    await barrier.wait()

    assert barrier.writes == 2 and len(writes.seen) == 2


async def test_a_wait_that_begins_during_a_barrier_write_waits_for_the_next_one(
    client: AsyncMongoClient[dict[str, Any]],
    writes: Writes,
    mongo_client: AsyncMongoClient[dict[str, Any]],
) -> None:
    barrier = _barrier(client)
    hold = {"failCommands": ["update"], "appName": APP, "blockConnection": True, "blockTimeMS": 300}
    await mongo_client.admin.command(
        {"configureFailPoint": "failCommand", "mode": {"times": 1}, "data": hold}
    )
    try:
        first = asyncio.create_task(barrier.wait())
        await writes.sent.wait()  # the first barrier write is held at the database
        second = asyncio.create_task(barrier.wait())
        await first
        writes_when_first_returned = barrier.writes
        await second
    finally:
        await mongo_client.admin.command({"configureFailPoint": "failCommand", "mode": "off"})

    assert writes_when_first_returned == 1 and barrier.writes == 2


async def test_presence_logs_and_counters_are_written_without_waiting_for_the_journal(
    client: AsyncMongoClient[dict[str, Any]], writes: Writes
) -> None:
    await init_models(client, TEST_DB)  # the services' Beanie collections on this client
    await User(wallet_address=WALLET, username="Penguin0001").insert()
    writes.seen.clear()
    presence, events = PresenceService("node-1"), EventRecorder("node-1", timedelta(days=1))
    log, stats = (
        ConnectionLogService("node-1", 3600, "secret"),
        StatsBatcher.for_database(client, TEST_DB),
    )

    presence.connected(WALLET, "p1", "town", "town")
    await presence.writer.flush()
    events.record("join", WALLET, room="town")
    await events.flush()
    stats.queue(WALLET, "world.steps")
    await stats.flush()
    log_id = log.opened(Opened("c1", datetime.now(UTC)))
    await log.flush()
    log.closed(log_id, 1000, [])
    await log.flush()
    await presence.disconnected(WALLET, "p1")

    assert writes.seen == [
        ("update", "users", False),
        ("insert", "events", False),
        ("update", "users", False),
        ("insert", "connection_logs", False),
        ("update", "connection_logs", False),
        ("update", "users", False),
    ]


def test_a_client_that_does_not_ask_for_the_journal_gets_no_barrier() -> None:
    plain: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        "mongodb://127.0.0.1:1/?directConnection=true", connect=False
    )
    embedded: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(embedded_uri(1), connect=False)

    assert journal_barrier(plain, TEST_DB) is None
    assert without_journal_wait(plain[TEST_DB]["users"]).write_concern.document == {}
    assert journal_barrier(embedded, TEST_DB) is not None
