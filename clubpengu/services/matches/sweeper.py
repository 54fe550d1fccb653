"""The sweeper: every node, every `sweep_interval`, settles the active matches whose turn
deadline passed more than `abandon_after` ago, whichever node ran them (it crashed, or
nobody came back to re-arm their timers)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from clubpengu.background import PeriodicTask
from clubpengu.models import Match, MatchStatus
from clubpengu.services.matches.settlement import Settlement

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
        self.task = PeriodicTask("match-sweeper", interval, self.sweep, first=0.0)

    def start(self) -> None:
        # A sweep at once (a restarted node settles what its crash left), then every interval.
        self.task.start()

    async def stop(self, within: float) -> None:
        await self.task.stop(within=within)

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
