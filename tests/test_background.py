"""The node's background helpers: a periodic task (its schedule, its first delay, a failing
step, stopping it while it waits, while it steps, and past its timeout) and tracked
fire-and-forget tasks that shutdown waits for."""

from __future__ import annotations

import asyncio
import itertools
import logging
import math

import pytest
from pymongo.errors import ServerSelectionTimeoutError

from clubpengu.background import PeriodicTask, TrackedTasks
from tests.waiting import stays

WAIT = 10.0  # a bound on what takes milliseconds on a quiet machine


class _Steps:
    """A step that records when it ran and lets a test wait for the n-th run."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self._changed = asyncio.Event()

    async def __call__(self) -> None:
        self.times.append(asyncio.get_running_loop().time())
        self._changed.set()

    async def reach(self, count: int) -> None:
        async with asyncio.timeout(WAIT):
            while len(self.times) < count:
                self._changed.clear()
                await self._changed.wait()


async def test_a_periodic_task_runs_its_step_every_interval_until_stopped() -> None:
    steps = _Steps()
    task = PeriodicTask("test-every", 0.01, steps)
    started = asyncio.get_running_loop().time()

    task.start()
    await steps.reach(3)
    await task.stop()
    ran = len(steps.times)
    await stays(lambda: len(steps.times) == ran, within=5 * 0.01)  # a live loop would step

    assert not task.running
    assert len(steps.times) == ran
    # Step k comes k + 1 intervals after the start at the earliest (later on a busy loop).
    assert all(t >= started + (k + 1) * 0.01 - 1e-3 for k, t in enumerate(steps.times))


async def test_the_first_step_comes_after_the_first_delay_not_after_an_interval() -> None:
    steps = _Steps()
    task = PeriodicTask("test-first", 3600.0, steps, first=0.0)

    task.start()
    await steps.reach(1)  # an hour away without `first`
    await task.stop()

    assert len(steps.times) == 1


async def test_a_failing_step_is_logged_and_the_next_one_still_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    steps = _Steps()

    async def fails_once() -> None:
        await steps()
        if len(steps.times) == 1:
            raise RuntimeError("the first step breaks")

    task = PeriodicTask("test-failing", 0.01, fails_once)

    with caplog.at_level(logging.ERROR, logger="clubpengu.background"):
        task.start()
        await steps.reach(2)
        await task.stop()

    [failure] = [r for r in caplog.records if r.getMessage() == "periodic step failed"]
    assert failure.__dict__["task"] == "test-failing"
    assert failure.exc_info is not None and "the first step breaks" in str(failure.exc_info[1])


async def test_a_step_that_meets_a_database_outage_is_a_warning_not_an_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    steps = _Steps()

    async def unreachable() -> None:
        await steps()
        raise ServerSelectionTimeoutError("no servers available")

    task = PeriodicTask("test-outage", 0.01, unreachable)

    with caplog.at_level(logging.WARNING, logger="clubpengu.background"):
        task.start()
        await steps.reach(2)
        await task.stop()

    records = [r for r in caplog.records if r.name == "clubpengu.background"]
    assert records and all(r.levelno == logging.WARNING for r in records)
    assert records[0].getMessage() == "periodic step: database unavailable"
    assert records[0].__dict__["task"] == "test-outage"


async def test_side_work_that_meets_a_database_outage_is_a_warning_not_an_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tasks = TrackedTasks()

    async def unreachable() -> None:
        raise ServerSelectionTimeoutError("no servers available")

    async def broken() -> None:
        raise RuntimeError("a bug")

    with caplog.at_level(logging.WARNING, logger="clubpengu.background"):
        tasks.spawn(unreachable(), "stamps:room")
        tasks.spawn(broken(), "stamps:chat")
        assert await tasks.wait(within=5.0)
        await asyncio.sleep(0)  # the done callbacks run on the next turn of the loop

    levels = {r.__dict__["task"]: (r.levelno, r.getMessage()) for r in caplog.records}
    assert levels == {
        "stamps:room": (logging.WARNING, "background task: database unavailable"),
        "stamps:chat": (logging.ERROR, "background task failed"),
    }


async def test_a_step_that_overruns_skips_the_times_it_missed_instead_of_bunching_them() -> None:
    steps = _Steps()
    interval = 0.02

    async def slow_first() -> None:
        await steps()
        if len(steps.times) == 1:
            await asyncio.sleep(interval * 3.5)  # the overrun itself: what is tested

    task = PeriodicTask("test-overrun", interval, slow_first, first=0.0)

    task.start()
    await steps.reach(4)
    await task.stop()

    assert task.overruns >= 1
    # The times the slow step took (three of them) were skipped, not caught up in a burst:
    # after it, at most one step per interval, on the schedule's remaining times.
    after = steps.times[1:]
    assert len(after) <= math.floor((after[-1] - steps.times[0]) / interval) - 2


async def test_a_function_interval_gives_the_delay_before_each_next_step() -> None:
    delays: list[float] = []
    steps = _Steps()
    backoff = (0.5 * 2**k for k in itertools.count())

    async def sleep(seconds: float) -> None:
        delays.append(seconds)
        await asyncio.sleep(0)

    task = PeriodicTask("test-backoff", lambda: next(backoff), steps, sleep=sleep)

    task.start()
    await steps.reach(3)
    await task.stop()

    assert delays[:3] == [0.5, 1.0, 2.0]  # the first delay too, as none was given


async def test_stop_ends_a_task_waiting_for_its_next_step_at_once() -> None:
    steps = _Steps()
    task = PeriodicTask("test-idle", 3600.0, steps, stop_timeout=WAIT)
    task.start()
    await asyncio.sleep(0)  # let it start waiting
    loop = asyncio.get_running_loop()
    before = loop.time()

    await task.stop()

    assert loop.time() - before < WAIT / 2
    assert not task.running
    assert steps.times == []


async def test_stop_lets_a_running_step_finish() -> None:
    entered, release = asyncio.Event(), asyncio.Event()
    finished: list[bool] = []

    async def step() -> None:
        entered.set()
        await release.wait()
        finished.append(True)

    task = PeriodicTask("test-busy", 3600.0, step, first=0.0, stop_timeout=WAIT)
    task.start()
    async with asyncio.timeout(WAIT):
        await entered.wait()

    stopping = asyncio.create_task(task.stop())
    still_stopping = await stays(lambda: not stopping.done())
    release.set()
    async with asyncio.timeout(WAIT):
        await stopping

    assert still_stopping
    assert finished == [True]


async def test_stop_cancels_a_step_that_outlasts_its_timeout(
    caplog: pytest.LogCaptureFixture,
) -> None:
    entered = asyncio.Event()
    cancelled: list[bool] = []

    async def stuck() -> None:
        entered.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    task = PeriodicTask("test-stuck", 3600.0, stuck, first=0.0)
    task.start()
    async with asyncio.timeout(WAIT):
        await entered.wait()

    with caplog.at_level(logging.WARNING, logger="clubpengu.background"):
        async with asyncio.timeout(WAIT):
            await task.stop(within=0.05)

    assert cancelled == [True]
    assert not task.running
    [cut] = [r for r in caplog.records if r.getMessage() == "periodic step cut off by stop"]
    assert cut.__dict__["task"] == "test-stuck"


def test_a_periodic_task_refuses_an_interval_that_is_not_positive() -> None:
    async def step() -> None:
        return None

    with pytest.raises(ValueError, match="test-zero"):
        PeriodicTask("test-zero", 0.0, step)


async def test_tracked_work_is_kept_until_done_and_shutdown_can_wait_for_it() -> None:
    tasks = TrackedTasks()
    release = asyncio.Event()
    done: list[str] = []

    async def work(name: str) -> None:
        await release.wait()
        done.append(name)

    tasks.spawn(work("a"), name="work-a")
    tasks.spawn(work("b"), name="work-b")
    ended_early = await tasks.wait(within=0.01)
    release.set()
    ended = await tasks.wait(within=WAIT)

    assert not ended_early
    assert ended
    assert sorted(done) == ["a", "b"]
    assert len(tasks) == 0


async def test_a_tracked_task_that_fails_is_logged_with_its_name(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tasks = TrackedTasks()

    async def fails() -> None:
        raise RuntimeError("the work breaks")

    with caplog.at_level(logging.ERROR, logger="clubpengu.background"):
        tasks.spawn(fails(), name="work-broken")
        ended = await tasks.wait(within=WAIT)

    assert ended
    [failure] = [r for r in caplog.records if r.getMessage() == "background task failed"]
    assert failure.__dict__["task"] == "work-broken"
    assert failure.exc_info is not None and "the work breaks" in str(failure.exc_info[1])
