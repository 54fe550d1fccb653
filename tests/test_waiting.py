"""The tests' own waiting helpers (tests/waiting.py): they return as soon as the condition
holds, fail naming it when it never does, and watch a quiet period only as long as it
stays quiet."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.waiting import ConditionNotMet, eventually, stays, wait_until


async def test_eventually_returns_the_first_truthy_result_of_a_sync_or_async_check() -> None:
    calls: list[int] = []

    def sync_check() -> int:
        calls.append(1)
        return len(calls) if len(calls) >= 3 else 0

    async def async_check() -> str:
        return "ready"

    assert await eventually(sync_check, every=0.001) == 3
    assert await eventually(async_check) == "ready"


async def test_eventually_with_ready_returns_the_result_that_satisfied_it() -> None:
    values = iter([1, 5, 9])

    found = await eventually(lambda: next(values), ready=lambda v: v > 4, every=0.001)

    assert found == 5


async def test_eventually_names_the_condition_and_the_last_result_when_time_runs_out() -> None:
    with pytest.raises(ConditionNotMet) as named:
        await eventually(lambda: [], "the queue fills", timeout=0.05)
    with pytest.raises(ConditionNotMet) as from_source:
        await eventually(lambda: 1 + 1 == 3, timeout=0.05)

    assert str(named.value) == "not within 0.05 s: the queue fills (last result: [])"
    assert "lambda: 1 + 1 == 3" in str(from_source.value)
    assert "last result: False" in str(from_source.value)


async def test_eventually_bounds_a_check_that_hangs() -> None:
    async def hangs() -> bool:
        await asyncio.sleep(3600)
        return True

    started = time.monotonic()
    with pytest.raises(ConditionNotMet):
        await eventually(hangs, "never", timeout=0.05)

    assert time.monotonic() - started < 1


def test_wait_until_polls_blocking_code_and_fails_naming_the_condition() -> None:
    deadline = time.monotonic() + 0.03

    passed = wait_until(lambda: time.monotonic() >= deadline, every=0.005)
    with pytest.raises(ConditionNotMet, match="the door opens"):
        wait_until(lambda: None, "the door opens", timeout=0.02)

    assert passed is True


async def test_stays_watches_the_whole_period_and_stops_at_the_first_change() -> None:
    changed: list[bool] = []

    started = time.monotonic()
    held = await stays(lambda: not changed, within=0.05)
    watched = time.monotonic() - started
    asyncio.get_running_loop().call_later(0.01, changed.append, True)
    started = time.monotonic()
    broke = await stays(lambda: not changed, within=5)
    stopped_after = time.monotonic() - started

    assert held is True and watched >= 0.05
    assert broke is False and stopped_after < 1
