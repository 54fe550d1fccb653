"""The node's periodic loops: the movement tick and the slow-client watchdog."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable

from clubpengu.realtime.registry import ConnectionRegistry

logger = logging.getLogger(__name__)
WS_1008_POLICY_VIOLATION = 1008


class PeriodicTask:
    """Runs `step` every `interval` seconds on a fixed schedule (start + k * interval), so
    the period does not stretch by the time each step takes; a step that overruns skips
    the ticks it missed instead of bunching them. A failing step is logged, not fatal."""

    def __init__(self, name: str, interval: float, step: Callable[[], Awaitable[object]]) -> None:
        self.name = name
        self.interval = interval
        self.step = step
        self._task: asyncio.Task[None] | None = None
        self.overruns = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time() + self.interval
        while True:
            await asyncio.sleep(max(0.0, due - loop.time()))
            try:
                await self.step()
            except Exception:
                logger.exception("periodic step failed", extra={"task": self.name})
            due += self.interval
            now = loop.time()
            if due < now:
                self.overruns += 1
                due = now + self.interval - (now - due) % self.interval


class AlignedTick:
    """The movement tick of a node among many. Ticks fall on the wall clock's multiples of
    `interval` on every node (NTP keeps them within a few ms), and each is two steps:
    `cut` at `lead` seconds before the tick (take and publish this node's movers), then
    `send` on the tick (batches with every node's movers). A move then reaches the
    members on other nodes in the same tick's batch as the members here: the lead is the
    time the movers have to cross Redis. A tick whose cut time has passed is skipped."""

    def __init__(
        self,
        interval: float,
        lead: float,
        cut: Callable[[], Awaitable[object]],
        send: Callable[[], Awaitable[object]],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.interval, self.lead = interval, lead
        self.cut, self.send = cut, send
        self.clock = clock
        self.overruns = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="tick")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def next_tick(self, now: float) -> float:
        """The first tick whose cut is still ahead of `now`."""
        tick = (math.floor(now / self.interval) + 1) * self.interval
        return tick if tick - self.lead > now else tick + self.interval

    async def _run(self) -> None:
        tick = self.next_tick(self.clock())
        while True:
            await asyncio.sleep(max(0.0, tick - self.lead - self.clock()))
            await self._step(self.cut, "tick-cut")
            await asyncio.sleep(max(0.0, tick - self.clock()))
            await self._step(self.send, "tick-send")
            following = self.next_tick(self.clock())
            if following > tick + self.interval:
                self.overruns += 1
            tick = following

    async def _step(self, step: Callable[[], Awaitable[object]], name: str) -> None:
        try:
            await step()
        except Exception:
            logger.exception("periodic step failed", extra={"task": name})


class SlowClientWatchdog:
    """Closes with 1008 the connections that have not kept up for `limit` seconds: their
    writer stuck on a full socket, or their queue full. Checked every `limit / 5` s."""

    def __init__(
        self,
        connections: ConnectionRegistry,
        limit: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.connections = connections
        self.limit = limit
        self.clock = clock
        self.task = PeriodicTask("slow-client-watchdog", max(limit / 5, 0.05), self.sweep)

    async def sweep(self) -> int:
        slow = self.connections.stalled(self.clock(), self.limit)
        for connection in slow:
            logger.warning(
                "closing a slow client",
                extra={"conn": connection.id, "queued": connection.queued},
            )
            connection.close_soon(WS_1008_POLICY_VIOLATION, "too slow", flush=False)
        return len(slow)
