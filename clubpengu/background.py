"""Background work of a node: steps run every so often (`PeriodicTask`), and fire-and-forget
work that shutdown waits for (`TrackedTasks`). Every layer may use them; they know
nothing of the rest of the server.

Both keep a strong reference to their tasks: the event loop holds only weak ones, so an
unreferenced task can be garbage-collected mid-flight. A failure is logged and the work
goes on (a periodic step runs again at its next time); it is never raised into the code
that started it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from clubpengu.services.outage import is_outage

logger = logging.getLogger(__name__)
STOP_TIMEOUT = 2.0  # how long `PeriodicTask.stop` lets a running step finish, by default
CANCEL_GRACE = 0.5  # then how long it waits for the cancelled task to end

# A fixed period in seconds, or a function giving the delay until the next step (called
# after each step: a backoff, or a schedule on another clock).
Interval = float | Callable[[], float]


class PeriodicTask:
    """Runs `step` every `interval` seconds until stopped.

    With a number, steps fall on a fixed schedule (start + first + k * interval), so the
    period does not stretch by the time each step takes; a step that overruns skips the
    times it missed instead of bunching them, and counts them in `overruns`. With a
    function, it is asked for the delay after every step.

    `first` is the delay before the first step (by default one interval). A failing step
    is logged, not fatal. `stop` lets a running step finish (at most `timeout` seconds,
    then cancels it) and cancels a sleeping one at once.
    """

    def __init__(
        self,
        name: str,
        interval: Interval,
        step: Callable[[], Awaitable[object]],
        *,
        first: float | None = None,
        stop_timeout: float = STOP_TIMEOUT,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if not callable(interval) and interval <= 0:
            raise ValueError(f"{name}: the interval must be positive")
        self.name = name
        self.interval = interval
        self.step = step
        self.first = first
        self.stop_timeout = stop_timeout
        self.overruns = 0
        self._sleep = sleep
        self._task: asyncio.Task[None] | None = None
        self._stepping = False
        self._stopping = False

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start the loop (from the event loop); a second call while it runs does nothing."""
        if not self.running:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self, within: float | None = None) -> None:
        """Stop the loop: at once if it is waiting for its next step, else once the step
        in progress ends, or after `within` seconds (default `stop_timeout`) by cancelling
        it. Returns when the task has ended (or would not end when cancelled: logged)."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        if not self._stepping:
            task.cancel()
        limit = self.stop_timeout if within is None else within
        if not await _ended(task, limit):
            logger.warning("periodic step cut off by stop", extra={"task": self.name})
            task.cancel()
            if not await _ended(task, CANCEL_GRACE):
                logger.error("periodic task ignored its cancellation", extra={"task": self.name})

    async def _run(self) -> None:
        interval = self.interval
        if callable(interval):
            await self._run_by_delay(interval)
        else:
            await self._run_on_schedule(interval)

    async def _run_on_schedule(self, interval: float) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time() + (interval if self.first is None else self.first)
        while not self._stopping:
            await self._sleep(max(0.0, due - loop.time()))
            await self._step()
            due += interval
            now = loop.time()
            if due < now:
                self.overruns += 1
                due = now + interval - (now - due) % interval

    async def _run_by_delay(self, delay: Callable[[], float]) -> None:
        await self._sleep(max(0.0, delay() if self.first is None else self.first))
        while not self._stopping:
            await self._step()
            if self._stopping:
                return
            await self._sleep(max(0.0, delay()))

    async def _step(self) -> None:
        self._stepping = True
        try:
            await self.step()
        except Exception as error:
            if is_outage(error):
                # The database out of reach is an outage, not a bug: the next step tries
                # again, and the operator reads it as a warning (docs/operations.md).
                logger.warning(
                    "periodic step: database unavailable",
                    extra={"task": self.name, "error": type(error).__name__},
                )
            else:
                logger.exception("periodic step failed", extra={"task": self.name})
        finally:
            self._stepping = False


# What a part is given to start fire-and-forget work (TrackedTasks.spawn, or a node's).
Spawn = Callable[[Coroutine[Any, Any, Any], str], object]


class TrackedTasks:
    """Fire-and-forget work that shutdown waits for: `spawn` starts it and returns at
    once; `wait` waits (bounded) for whatever is still running. A failure is logged with
    the task's name."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def __len__(self) -> int:
        return len(self._tasks)

    def spawn(self, work: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    async def wait(self, within: float | None) -> bool:
        """Wait up to `within` seconds (None: no bound) for the tasks running now; True
        when they all ended. Nothing is cancelled."""
        if not self._tasks:
            return True
        _, pending = await asyncio.wait(set(self._tasks), timeout=within)
        return not pending

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled() or task.exception() is None:
            return
        error = task.exception()
        if error is not None and is_outage(error):
            # Side work the database was out of reach for (a stamp, a leaderboard entry):
            # an outage, not a bug. What it would have written is said in
            # docs/operations.md, "When the database goes away".
            logger.warning(
                "background task: database unavailable",
                extra={"task": task.get_name(), "error": type(error).__name__},
            )
        else:
            logger.error(
                "background task failed",
                exc_info=task.exception(),
                extra={"task": task.get_name()},
            )


async def _ended(task: asyncio.Task[None], within: float) -> bool:
    """Wait up to `within` seconds for `task` to end; consume its outcome (nothing to
    raise)."""
    done, _ = await asyncio.wait({task}, timeout=max(within, 0.0))
    if done and not task.cancelled():
        task.exception()  # retrieved, so asyncio does not warn that nobody did
    return bool(done)
