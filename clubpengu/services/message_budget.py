"""Each client address's budget of messages across all its sockets (MESSAGE_RATE_PER_IP).

A node lets an address's messages through its own token bucket first, so one node never
passes more than the budget. With counters shared by the nodes (REDIS_URL) the node also
counts, per address, the messages it let through — a dict increment, no round trip — and
every SYNC_INTERVAL adds those counts to each address's count of the current window in
Redis (one script for all of them) and reads back the totals of every node. An address
whose total has passed the budget is refused on this node until the window ends: spread
over nodes, it gets at most about one interval of each node's traffic past the budget
before every node refuses it. A window is the rate's period (at least MIN_WINDOW, the
budget scaled with it), the same on every node (Redis's clock).

When Redis cannot answer, each node counts alone — an address may then send the budget
on every node — and the log says so once per outage.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

from clubpengu.config import Rate
from clubpengu.realtime.counters.base import CountersUnavailable, SharedCounters
from clubpengu.services.ratelimit import RateLimiter

logger = logging.getLogger(__name__)
SYNC_INTERVAL = 0.15  # seconds between two reports of a node's counts to Redis
# A shorter window would pass before the nodes had said what they counted in it.
MIN_WINDOW = 1.0


class MessageBudget:
    def __init__(
        self,
        rate: Rate,
        shared: SharedCounters | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.enabled = rate.enabled
        self.local = RateLimiter(rate.count, rate.seconds, clock=clock)
        self.shared = shared if rate.enabled else None
        scale = math.ceil(MIN_WINDOW / rate.seconds) if rate.seconds < MIN_WINDOW else 1
        self.window = rate.seconds * scale
        self.budget = rate.count * scale
        self.clock = clock
        self._counts: dict[str, int] = {}  # let through since the last report, per address
        self._refused: dict[str, float] = {}  # over the budget on every node: until when
        self._shared_down = False

    def allow(self, address: str) -> bool:
        """Whether one more message of `address` may pass (counted if so)."""
        if not self.enabled:
            return True
        if self._refused:
            until = self._refused.get(address)
            if until is not None:
                if self.clock() < until:
                    return False
                del self._refused[address]
        if not self.local.allow(address):
            return False
        if self.shared is not None:
            counts = self._counts
            counts[address] = counts.get(address, 0) + 1
        return True

    async def sync(self) -> None:
        """Report this node's counts and learn every node's totals (a periodic task)."""
        if self.shared is None:
            return
        now = self.clock()
        for address in [address for address, until in self._refused.items() if until <= now]:
            del self._refused[address]
        if not self._counts:
            return
        counts, self._counts = self._counts, {}
        try:
            totals, left = await self.shared.add_messages(counts, self.window)
        except CountersUnavailable as error:
            # What this node let through meanwhile is its own bucket's business now.
            self._note_down(error)
            return
        self._note_up()
        until = self.clock() + left
        for address, total in totals.items():
            if total > self.budget:
                self._refused[address] = until

    def _note_down(self, error: CountersUnavailable) -> None:
        if not self._shared_down:
            self._shared_down = True
            logger.warning(
                "shared message counts unreachable; counting this node's messages only",
                extra={"error": str(error)},
            )

    def _note_up(self) -> None:
        if self._shared_down:
            self._shared_down = False
            logger.info("shared message counts reachable again")
