"""GroupWriter, and presence written through it against the real database: writes made while
one is in flight go together into the next command, in order; a failure reaches exactly
the callers whose writes it took."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient, monitoring

from clubpengu.db import init_models
from clubpengu.models import User
from clubpengu.services.group_writer import GroupWriter
from clubpengu.services.presence import Place, PresenceService
from tests.conftest import TEST_DB


class Recorded:
    """A write function that records each group and can be made to fail or to wait."""

    def __init__(self) -> None:
        self.groups: list[list[int]] = []
        self.fail_next = False
        self.gate: asyncio.Event | None = None

    async def __call__(self, items: list[int]) -> None:
        self.groups.append(list(items))
        if self.gate is not None:
            await self.gate.wait()
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("the database said no")


async def test_writes_made_while_one_is_in_flight_go_together_in_order() -> None:
    write = Recorded()
    write.gate = asyncio.Event()
    writer: GroupWriter[int] = GroupWriter(write, name="test")

    first = asyncio.create_task(writer.submit(0))
    await asyncio.sleep(0)  # the first group is being written
    rest = [asyncio.create_task(writer.submit(n)) for n in range(1, 6)]
    await asyncio.sleep(0)
    write.gate.set()
    await asyncio.gather(first, *rest)

    assert write.groups == [[0], [1, 2, 3, 4, 5]]
    assert (writer.writes, writer.written, writer.pending) == (2, 6, 0)


async def test_a_group_is_at_most_max_group_items() -> None:
    write = Recorded()
    writer: GroupWriter[int] = GroupWriter(write, name="test", max_group=2)

    await asyncio.gather(*(writer.submit(n) for n in range(5)))

    assert write.groups == [[0, 1], [2, 3], [4]]


async def test_a_failed_group_fails_its_callers_only_and_the_next_group_is_written() -> None:
    write = Recorded()
    write.gate = asyncio.Event()
    writer: GroupWriter[int] = GroupWriter(write, name="test")
    write.fail_next = True

    first = asyncio.create_task(writer.submit(0))
    await asyncio.sleep(0)
    second = asyncio.create_task(writer.submit(1))
    write.gate.set()
    results = await asyncio.gather(first, second, return_exceptions=True)

    assert isinstance(results[0], RuntimeError) and results[1] is True
    assert write.groups == [[0], [1]]


async def test_a_failed_write_nobody_waits_for_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    write = Recorded()
    write.fail_next = True
    writer: GroupWriter[int] = GroupWriter(write, name="connection-log")

    writer.submit_nowait(7)
    flushed = await writer.flush(within=5)

    assert flushed and writer.pending == 0
    assert "connection-log: 1 writes failed" in caplog.text


class Updates(monitoring.CommandListener):
    def __init__(self) -> None:
        self.commands = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.commands += event.command_name == "update"

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@pytest.fixture
async def counted(mongo_uri: str) -> AsyncIterator[Updates]:
    updates = Updates()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        mongo_uri, tz_aware=True, event_listeners=[updates]
    )
    await init_models(client, TEST_DB)  # the presence service's collection on this client
    yield updates
    await client.close()


async def test_presence_of_many_players_joining_at_once_is_a_few_commands(
    counted: Updates,
) -> None:
    wallets = [f"GroupWallet{n:04d}" for n in range(50)]
    await User.insert_many([User(wallet_address=w, username=w) for w in wallets])
    presence = PresenceService("node-1")

    for wallet in wallets:
        presence.connected(wallet, f"p{wallet}", "town", "town~2")
    await asyncio.gather(
        *(presence.disconnected(w, f"p{w}", Place("town", "town~2", 5, 6)) for w in wallets[:10])
    )

    users = {u.wallet_address: u for u in await User.find_all().to_list()}
    assert counted.commands <= 4
    assert all(users[w].is_connected and users[w].last_instance == "town~2" for w in wallets[10:])
    assert all(not users[w].is_connected and users[w].last_x == 5 for w in wallets[:10])


async def test_a_leave_made_right_after_a_join_is_written_after_it(counted: Updates) -> None:
    await User(wallet_address="OrderWallet0001", username="Penguin0001").insert()
    presence = PresenceService("node-1")

    presence.connected("OrderWallet0001", "p1", "town", "town")  # not waited for
    await presence.disconnected("OrderWallet0001", "p1", Place("town", "town", 1, 2))

    user = await User.find_one(User.wallet_address == "OrderWallet0001")
    assert user is not None and not user.is_connected and user.last_x == 1


async def test_a_leave_waits_for_a_slow_database_at_most_leave_wait_and_still_lands(
    mongo_uri: str, mongo_client: AsyncMongoClient[dict[str, Any]]
) -> None:
    slow: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        mongo_uri, tz_aware=True, appname="slow-presence"
    )
    await init_models(slow, TEST_DB)
    await User(wallet_address="SlowWallet00001", username="Penguin0001").insert()
    presence = PresenceService("node-1", leave_wait=0.1)
    presence.connected("SlowWallet00001", "p1", "town", "town")
    await presence.writer.flush()
    hold = {"failCommands": ["update"], "appName": "slow-presence", "blockConnection": True,
            "blockTimeMS": 800}  # fmt: skip
    await mongo_client.admin.command(
        {"configureFailPoint": "failCommand", "mode": {"times": 1}, "data": hold}
    )
    try:
        started = asyncio.get_running_loop().time()
        await presence.disconnected("SlowWallet00001", "p1")
        waited = asyncio.get_running_loop().time() - started
        written = await presence.writer.flush(within=10)
    finally:
        await mongo_client.admin.command({"configureFailPoint": "failCommand", "mode": "off"})
    user = await User.find_one(User.wallet_address == "SlowWallet00001")
    await slow.close()

    assert waited < 0.5 and written
    assert user is not None and not user.is_connected
