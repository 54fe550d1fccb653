"""An address's message budget across nodes (services/message_budget.py) on a real Redis:
two budgets, each with its own connection, stand for two nodes. Each node passes what its
own bucket allows and learns the other's counts when it reports its own."""

from __future__ import annotations

import itertools
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from clubpengu.config import Rate
from clubpengu.realtime.bus.backends.redis import RedisBus
from clubpengu.realtime.counters.redis import RedisCounters
from clubpengu.services.message_budget import MIN_WINDOW, MessageBudget
from tests.redis_server import RedisServer
from tests.waiting import eventually

SECRET = "budget-secret-" + "x" * 40
_addresses = (f"203.0.113.{n}" for n in itertools.count(1))


@pytest.fixture
async def counters(redis_server: RedisServer) -> AsyncIterator[tuple[RedisCounters, ...]]:
    buses = RedisBus(redis_server.url, timeout=1.0), RedisBus(redis_server.url, timeout=1.0)
    for bus in buses:
        await bus.connect()
    yield tuple(RedisCounters(bus, SECRET) for bus in buses)
    for bus in buses:
        await bus.disconnect()


def _allowed(budget: MessageBudget, address: str, count: int) -> int:
    return sum(budget.allow(address) for _ in range(count))


async def test_an_address_over_the_budget_on_two_nodes_together_is_refused_on_both(
    counters: tuple[RedisCounters, RedisCounters],
) -> None:
    # A window of a day: both reports fall in one (a window ends once a day, at 00:00 UTC).
    address, rate = next(_addresses), Rate(10, 86400.0)
    a, b = MessageBudget(rate, counters[0]), MessageBudget(rate, counters[1])

    passed = _allowed(a, address, 6) + _allowed(b, address, 6)
    await a.sync()
    await b.sync()  # b learns 12: refused at once
    refused_on_b = not b.allow(address)
    passed_on_a = a.allow(address)  # a has not heard yet; its report tells it
    await a.sync()
    refused_on_a = not a.allow(address)
    other_address = a.allow(next(_addresses))
    keys = [key async for key in counters[0].bus.client.scan_iter("msgs:*")]

    assert passed == 12
    assert refused_on_b and passed_on_a and refused_on_a
    assert other_address
    assert keys and not any(address.encode() in key for key in keys)  # hashed


async def test_the_refusal_ends_with_the_window(
    counters: tuple[RedisCounters, RedisCounters],
) -> None:
    rate = Rate(4, 1.0)
    for _ in range(3):
        # Windows of a second: the two reports may fall on either side of a window's end
        # (then neither window is over): start again with another address.
        address = next(_addresses)
        a, b = MessageBudget(rate, counters[0]), MessageBudget(rate, counters[1])
        _allowed(a, address, 3)
        _allowed(b, address, 3)
        await a.sync()
        await b.sync()
        refused = not b.allow(address)
        if refused:
            break

    allowed_again = await eventually(lambda: b.allow(address), timeout=3, every=0.1)

    assert refused and allowed_again


async def test_one_node_alone_still_holds_the_budget_when_redis_cannot_answer(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    lost = RedisServer(tmp_path / "redis")
    lost.start()
    bus = RedisBus(lost.url, timeout=0.5)
    await bus.connect()
    lost.stop()
    address = next(_addresses)
    budget = MessageBudget(Rate(5, 60.0), RedisCounters(bus, SECRET))
    try:
        first = _allowed(budget, address, 3)
        await budget.sync()
        await budget.sync()  # nothing new to report: nothing tried, nothing logged again
        second = _allowed(budget, address, 3)
        await budget.sync()
    finally:
        await bus.disconnect()

    assert first + second == 5  # the node's own bucket
    assert caplog.text.count("shared message counts unreachable") == 1


def test_a_period_under_a_second_is_counted_in_windows_of_a_second() -> None:
    budget = MessageBudget(Rate(3, 0.25))

    assert (budget.window, budget.budget) == (MIN_WINDOW, 12)


def test_0_turns_the_budget_off() -> None:
    budget = MessageBudget(Rate(0, 1.0))

    assert budget.shared is None
    assert all(budget.allow("203.0.113.250") for _ in range(10_000))
