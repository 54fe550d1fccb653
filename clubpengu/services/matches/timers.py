"""The match service's own background work: named timers (a turn's deadline, a challenge's
expiry, a disconnected player's grace) and the tasks they run, all stopped together.

Timers live in this process (asyncio handles): a restarted node re-arms a match's turn
timer when a player comes back, and the sweeper settles what no node re-armed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from clubpengu.background import TrackedTasks
from clubpengu.services.outage import is_outage

logger = logging.getLogger(__name__)
Work = Callable[[], Coroutine[Any, Any, Any]]
STOP_SECONDS = 2.0  # how long stop() waits for running work


@dataclass(frozen=True)
class Timing:
    turn_seconds: float = 30.0
    sweep_interval: float = 30.0
    abandon_after: float = 300.0
    cache_size: int = 10_000
    # A timer whose work found the database out of reach runs again this much later
    # (a turn timeout or a disconnect forfeit is late, never lost).
    retry_after: float = 5.0
    # How long a person's move against the computer waits for the computer's answer, so
    # that both are written in one update (services/matches/computer.py `answer`); 0: never.
    computer_answer: float = 0.05


class MatchTimers:
    """`later(key, delay, work)` runs `work()` after `delay` seconds, a newer timer of the
    same key replacing the older. Work that finds the database out of reach runs again
    `retry_after` seconds later (a turn timeout or a disconnect forfeit is late, never
    lost). Failures are logged; nothing is started once `stop` began."""

    def __init__(self, retry_after: float) -> None:
        self.retry_after = retry_after
        self.stopping = False
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._tasks = TrackedTasks()

    def spawn(self, work: Coroutine[Any, Any, Any], name: str) -> None:
        self._tasks.spawn(work, name)

    def later(self, key: str, delay: float, work: Work) -> None:
        """Run `work()` after `delay` seconds, replacing any earlier timer of `key`."""
        old = self._timers.pop(key, None)
        if old is not None:
            old.cancel()
        if self.stopping:
            return

        def fire() -> None:
            self._timers.pop(key, None)
            self.spawn(self._retrying(key, work), key)

        self._timers[key] = asyncio.get_running_loop().call_later(max(delay, 0.0), fire)

    async def _retrying(self, key: str, work: Work) -> None:
        """Run a timer's work; if the database is out of reach, arm it again (unless a
        newer timer of the same key was set meanwhile: the work it replaced is stale)."""
        try:
            await work()
        except Exception as error:
            if not is_outage(error) or self.stopping:
                raise
            logger.warning(
                "match timer: database unavailable; trying again",
                extra={"timer": key, "retry_in": self.retry_after,
                       "error": type(error).__name__},
            )  # fmt: skip
            if key not in self._timers:
                self.later(key, self.retry_after, work)

    def cancel(self, key: str) -> None:
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()

    async def stop(self) -> None:
        """Cancel every timer and wait (at most STOP_SECONDS) for running work."""
        self.stopping = True
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        await self._tasks.wait(within=STOP_SECONDS)
