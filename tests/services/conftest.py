"""Fixtures for service tests: services on the shared test database, players with coins
granted through the ledger (so the ledger stays consistent), and fail points."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient, monitoring

from clubpengu.models import User
from clubpengu.services.economy import EconomyService
from clubpengu.services.notices import Notice
from clubpengu.transport import render
from tests.conftest import TEST_DB

Client = AsyncMongoClient[dict[str, Any]]


class Pushes(list[tuple[str, dict[str, Any]]]):
    """Records what the economy would push to live connections: each notice as the
    transport renders it."""

    def __call__(self, wallet: str, notice: Notice) -> None:
        self.append((wallet, render.notice(notice)))


@pytest.fixture
def pushes() -> Pushes:
    return Pushes()


@pytest.fixture
def economy(mongo_client: Client, pushes: Pushes) -> EconomyService:
    return EconomyService(mongo_client, TEST_DB, notify=pushes)


async def add_player(economy: EconomyService, wallet: str, coins: int = 0) -> None:
    """A user with `coins` granted through the ledger (one `grant` entry)."""
    await User(wallet_address=wallet, username=f"P-{wallet}").insert()  # names are unique
    if coins:
        await economy.apply(wallet, coins, "grant", idempotency_key=f"seed:{wallet}")


async def user_doc(client: Client, wallet: str) -> dict[str, Any]:
    doc = await client[TEST_DB]["users"].find_one({"walletAddress": wallet})
    assert doc is not None
    return doc


async def entries(client: Client, wallet: str | None = None) -> list[dict[str, Any]]:
    query = {} if wallet is None else {"walletAddress": wallet}
    return await client[TEST_DB]["transactions"].find(query).sort("createdAt", 1).to_list()


@contextlib.asynccontextmanager
async def fail_point(client: Client, mode: Any, **data: Any) -> AsyncIterator[None]:
    """SecantusDB's (and mongod's) `failCommand` fail point, always switched off after."""
    await client.admin.command({"configureFailPoint": "failCommand", "mode": mode, "data": data})
    try:
        yield
    finally:
        await client.admin.command({"configureFailPoint": "failCommand", "mode": "off"})


@pytest.fixture
async def quick_client(mongo_uri: str) -> AsyncIterator[Client]:
    """A client that rediscovers the server within 0.5 s. A "shutting down" or "not
    primary" error (codes 11600, 91 ...) makes the driver mark the server unknown and wait
    for its next heartbeat before using it again; the default heartbeat is 10 s."""
    client: Client = AsyncMongoClient(mongo_uri, tz_aware=True, heartbeatFrequencyMS=500)
    yield client
    await client.close()


class CommandNames(monitoring.CommandListener):
    """`<command> <collection>` of every command a client sends (the driver's own left out)."""

    IGNORED = frozenset({"hello", "isMaster", "ismaster", "ping", "endSessions"})

    def __init__(self) -> None:
        self.seen: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name in self.IGNORED:
            return
        target = event.command.get(event.command_name)
        self.seen.append(f"{event.command_name} {target if isinstance(target, str) else ''}")

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@pytest.fixture
async def recorded_client(mongo_uri: str) -> AsyncIterator[tuple[Client, CommandNames]]:
    """A client whose commands are recorded."""
    names = CommandNames()
    client: Client = AsyncMongoClient(mongo_uri, tz_aware=True, event_listeners=[names])
    yield client, names
    await client.close()
