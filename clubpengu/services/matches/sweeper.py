"""The sweeper: every node, every `sweep_interval`, settles the active matches whose turn
deadline passed more than `abandon_after` ago, whichever node ran them (it crashed, or
nobody came back to re-arm their timers)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from clubpengu.models import Match, MatchStatus
from clubpengu.services.matches.settlement import Settlement

logger = logging.getLogger(__name__)
# Settle one abandoned match (the service's own expiry rules); None if it was not settled.
Expire = Callable[[Match, str], Awaitable[Settlement | None]]


class Sweeper:
    def __init__(
        self,
        expire: Expire,
        clock: Callable[[], datetime],
        *,
        interval: float,
        abandon_after: float,
    ) -> None:
        self.expire = expire
        self.clock = clock
        self.interval = interval
        self.abandon_after = abandon_after
        self.task: asyncio.Task[None] | None = None
        self.stopping = False

    def start(self) -> None:
        self.task = asyncio.create_task(self._forever(), name="match-sweeper")

    def cancel(self) -> asyncio.Task[None] | None:
        """Stop sweeping; the task to wait for, if one was running."""
        self.stopping = True
        if self.task is not None:
            self.task.cancel()
        return self.task

    async def sweep(self) -> int:
        """Settle active matches whose deadline passed more than `abandon_after` ago."""
        cutoff = self.clock() - timedelta(seconds=self.abandon_after)
        active = MatchStatus.ACTIVE.value
        stale = await Match.find({"status": active, "turnDeadline": {"$lt": cutoff}}).to_list()
        settled = 0
        for match in stale:
            if await self.expire(match, "abandoned") is not None:
                settled += 1
        return settled

    async def _forever(self) -> None:
        while not self.stopping:
            try:
                await self.sweep()
            except Exception:
                logger.exception("match sweep failed")
            await asyncio.sleep(self.interval)
