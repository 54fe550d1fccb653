"""Session owners: the atomic swap, compare-and-delete, routing to the owner's node, and
re-asserting claims after an outage (newest wins) — in Redis (a real redis-server) and
in the one-node dict."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator

import pytest

from clubpengu.realtime.bus.backends.redis import RedisBus
from clubpengu.realtime.names import node_channel
from clubpengu.realtime.owners.base import Owner, SessionOwners
from clubpengu.realtime.owners.local import LocalOwners
from clubpengu.realtime.owners.redis import RedisOwners
from tests.realtime.test_bus import take
from tests.redis_server import RedisServer

_wallets = itertools.count()


def _wallet() -> str:
    return f"wallet-{next(_wallets)}"


def _owner(node: str, connection: str, since: int = 1) -> Owner:
    return Owner(node, "b00t", connection, since)


@pytest.fixture
async def bus(redis_server: RedisServer) -> AsyncIterator[RedisBus]:
    bus = RedisBus(redis_server.url, timeout=1.0)
    await bus.connect()
    yield bus
    await bus.disconnect()


@pytest.fixture(params=["local", "redis"])
def owners(request: pytest.FixtureRequest, bus: RedisBus) -> SessionOwners:
    return LocalOwners() if request.param == "local" else RedisOwners(bus)


async def _settle(owners: SessionOwners) -> None:
    """Redis owners release and route through the bus's outbox: wait until it is sent.
    The one-node dict changes at once."""
    if isinstance(owners, RedisOwners):
        async with asyncio.timeout(5):
            await owners.bus.drained()


async def test_a_swap_returns_the_previous_owner(owners: SessionOwners) -> None:
    wallet = _wallet()
    first, second = _owner("node-a", "c1"), _owner("node-b", "c7")

    assert await owners.swap(wallet, first, 60) is None
    assert await owners.swap(wallet, second, 60) == first
    assert await owners.swap(wallet, first, 60) == second


async def test_releasing_forgets_only_the_owner_that_is_still_current(
    owners: SessionOwners,
) -> None:
    wallet = _wallet()
    old, new = _owner("node-a", "c1"), _owner("node-b", "c2")
    await owners.swap(wallet, old, 60)
    await owners.swap(wallet, new, 60)

    owners.release(wallet, old)  # too late: no effect
    await _settle(owners)
    still = await owners.swap(wallet, new, 60)
    owners.release(wallet, new)
    await _settle(owners)
    gone = await owners.swap(wallet, old, 60)

    assert still == new
    assert gone is None


async def test_concurrent_swaps_form_one_chain(owners: SessionOwners) -> None:
    wallet = _wallet()
    claims = [_owner(f"node-{i % 3}", f"c{i}") for i in range(30)]

    previous = await asyncio.gather(*(owners.swap(wallet, claim, 60) for claim in claims))

    # Each claim displaced exactly one other (the first displaced nobody): exactly one
    # claim, the last to be swapped in, was displaced by nobody and survives.
    assert previous.count(None) == 1
    displaced = [p for p in previous if p is not None]
    assert len(set(displaced)) == len(claims) - 1
    assert len(set(claims) - set(displaced)) == 1


async def test_a_push_is_routed_to_the_owner_s_node_inbox(bus: RedisBus) -> None:
    owners, wallet = RedisOwners(bus), _wallet()
    await owners.swap(wallet, _owner("node-z", "c3"), 60)

    async with bus.subscribe(node_channel("node-z")) as inbox:
        owners.route(wallet, b"for you")
        owners.route(_wallet(), b"nobody owns this one")
        received = await take(inbox, 1)

    assert received == [b"for you"]


async def test_reconciling_keeps_the_newest_claim(bus: RedisBus) -> None:
    owners = RedisOwners(bus)
    kept, lost, empty = _wallet(), _wallet(), _wallet()
    newer_elsewhere = _owner("node-b", "c9", since=2_000)
    older_elsewhere = _owner("node-b", "c8", since=500)
    await owners.swap(kept, older_elsewhere, 60)
    await owners.swap(lost, newer_elsewhere, 60)
    mine = _owner("node-a", "c1", since=1_000)

    results = await owners.reconcile([(kept, mine, 60), (lost, mine, 60), (empty, mine, 60)])

    assert [(r.kept, r.displaced) for r in results] == [
        (True, older_elsewhere),
        (False, None),
        (True, None),
    ]
    assert await owners.swap(kept, mine, 60) == mine
    assert await owners.swap(lost, newer_elsewhere, 60) == newer_elsewhere
