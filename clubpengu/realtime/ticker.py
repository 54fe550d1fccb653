"""The node's periodic loops: the movement tick and the slow-client watchdog."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

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


class _Phased(Protocol):
    @property
    def phases(self) -> int: ...

    async def tick_phase(self, phase: int) -> int: ...


class PhasedTick:
    """The movement tick, one period cut into `hub.phases` steps (Hub.tick_phase).

    Run by a PeriodicTask every `period / phases` seconds. A step sends every phase that
    has come due since the last step, in order: when the loop was held up, the late
    phases are caught up rather than skipped, since a skipped phase would make its rooms
    wait a whole extra period. `after_tick` runs once per whole period (the GC pacer)."""

    def __init__(
        self,
        hub: _Phased,
        tick_rate: float,
        after_tick: Callable[[], object] = lambda: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.hub = hub
        self.interval = 1.0 / (tick_rate * hub.phases)
        self.after_tick = after_tick
        self.clock = clock
        self._start = clock()
        self._done = -1  # the last step sent, counted from `_start`

    async def step(self) -> None:
        phases = self.hub.phases
        due = int((self.clock() - self._start) / self.interval)
        first = max(self._done + 1, due - phases + 1)
        for seq in range(first, due + 1):
            phase = seq % phases
            await self.hub.tick_phase(phase)
            if phase == phases - 1:
                self.after_tick()
        self._done = max(self._done, due)


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
