"""The node's realtime loops: the movement tick and the slow-client watchdog, each run by
a `PeriodicTask` (clubpengu/background.py)."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Protocol

from clubpengu.background import PeriodicTask
from clubpengu.errors import CloseCode
from clubpengu.metrics import Metrics
from clubpengu.realtime.registry import ConnectionRegistry

logger = logging.getLogger(__name__)


class _Phased(Protocol):
    @property
    def phases(self) -> int: ...

    async def cut(self, phase: int | None = None) -> None: ...

    def send_batches(self, phase: int | None = None) -> int: ...


class PhasedTick:
    """The movement tick. Each tick period is cut into `hub.phases` steps on the wall
    clock's multiples of `period / phases` (the same instants on every node, NTP keeping
    them within a few ms), and step `j` sends the batches of the rooms of phase
    `j % phases` (Hub.send_batches): every room gets one batch per period, and the rooms'
    fan-outs are spread over it.

    Before a room's batch is sent, its local movers are cut (Hub.cut) and, with several
    nodes, published for the other nodes' batches. With no `lead` (one node) the cut is
    just before the send. With a lead (TICK_LEAD) the cut comes that much earlier,
    rounded up to whole steps, so other nodes' movers have crossed Redis by the send and
    make the same batch as this node's: step `j` sends phase `j` and cuts phase `j + L`.

    A step that comes late catches up the steps it missed, in order (a skipped step would
    make its rooms wait a whole extra period); at most one period's worth. `after_tick`
    runs once per whole period (the GC pacer)."""

    def __init__(
        self,
        hub: _Phased,
        tick_rate: float,
        lead: float = 0.0,
        after_tick: Callable[[], object] = lambda: None,
        clock: Callable[[], float] = time.time,
        metrics: Metrics | None = None,
    ) -> None:
        self.hub = hub
        self.metrics = metrics or Metrics()
        self.interval = 1.0 / (tick_rate * hub.phases)
        self.lead_steps = math.ceil(lead / self.interval - 1e-9) if lead > 0 else 0
        self.after_tick = after_tick
        self.clock = clock
        self.overruns = 0
        self._done: int | None = None  # the last step run
        self._loop = PeriodicTask("tick", self._until_next_step, self.step)

    def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()

    def _until_next_step(self) -> float:
        """Seconds until the next multiple of the step on the wall clock: a delay read
        afresh after each step, so the steps stay on the instants every node shares."""
        interval = self.interval
        now = self.clock()
        return (math.floor(now / interval) + 1) * interval - now

    async def step(self) -> None:
        """Run every step that has come due since the last one."""
        phases = self.hub.phases
        now = math.floor(self.clock() / self.interval + 1e-9)
        first = now if self._done is None else max(self._done + 1, now - phases + 1)
        if now - first > 0:
            self.overruns += now - first
        for j in range(first, now + 1):
            await self._one(j, phases)
        self._done = max(self._done if self._done is not None else now, now)

    async def _one(self, j: int, phases: int) -> None:
        phase = j % phases
        started = time.perf_counter()
        if self.lead_steps == 0:
            await self.hub.cut(phase)
            self.hub.send_batches(phase)
        else:
            self.hub.send_batches(phase)
            await self.hub.cut((j + self.lead_steps) % phases)
        self.metrics.tick_step(time.perf_counter() - started)
        if phase == phases - 1:
            self.after_tick()


class SlowClientWatchdog:
    """Closes with 1008 the connections that have not kept up for `limit` seconds: their
    writer stuck on a full socket, or their queue full. Checked every `limit / 5` s."""

    def __init__(
        self,
        connections: ConnectionRegistry,
        limit: float,
        clock: Callable[[], float] = time.monotonic,
        metrics: Metrics | None = None,
    ) -> None:
        self.connections = connections
        self.metrics = metrics or Metrics()
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
            self.metrics.slow_client_closed()
            connection.close_soon(CloseCode.CLOSE_1008_POLICY_VIOLATION, "too slow", flush=False)
        return len(slow)
