"""What a match played out leaves behind once it is settled: each player's stamps and, for
a rated match, the leaderboards. Done in the background by the node that settled it, and
done again by any node's sweep when that did not finish.

The settlement marks such a match `aftermathDue` in its own transaction, so a match that
needs this work is never forgotten: a node that dies right after settling, or a database
that is out for the minute after, leaves the mark behind, and every node's sweep takes up
matches still marked `MATCH_AFTERMATH_RETRY` after their end. Both halves are idempotent
(a wallet holds a stamp once; a match counts on the boards once, by its `leaderboardAt`
claim), so doing it twice, on two nodes, or after a partial run costs only time. The mark
is cleared last, without waiting for the journal (losing that write to a `kill -9` of the
database only means the work is looked at once more), and the clears of matches ending
together go in one command (services/group_writer.py): under load the database's commands
per match are what bound the matches a node plays.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection

from clubpengu.db import without_journal_wait
from clubpengu.models import Match
from clubpengu.services.group_writer import GroupWriter
from clubpengu.services.leaderboards import LeaderboardService
from clubpengu.services.stamps import StampService

logger = logging.getLogger(__name__)

# Matches taken up by one sweep: the rest wait for the next (a backlog after an outage
# drains at this many per MATCH_SWEEP_INTERVAL rather than all at once).
SWEEP_BATCH = 200


class MatchAftermath:
    def __init__(
        self,
        matches: AsyncCollection[dict[str, Any]],
        stamps: StampService,
        leaderboards: LeaderboardService,
        clock: Callable[[], datetime],
        *,
        retry_after: float,
    ) -> None:
        self.matches = without_journal_wait(matches)
        self._clears: GroupWriter[ObjectId] = GroupWriter(self._clear, name="match-aftermath")
        self.stamps = stamps
        self.leaderboards = leaderboards
        self.clock = clock
        self.retry_after = retry_after

    async def run(self, match: Match) -> None:
        """The stamps and leaderboard entries of a settled match, then the mark cleared.
        Raises what the database raised: the mark stays and a sweep retries."""
        await self.stamps.match_ended(match)
        await self.leaderboards.record(match)
        assert match.id is not None
        await self._clears.submit(match.id)

    async def _clear(self, ids: list[ObjectId]) -> None:
        await self.matches.update_many({"_id": {"$in": ids}}, {"$set": {"aftermathDue": False}})

    async def sweep(self) -> int:
        """Take up the matches still marked `retry_after` seconds after their end (oldest
        first, at most SWEEP_BATCH); how many were done. One that fails is logged and left
        marked for the next sweep."""
        cutoff = self.clock() - timedelta(seconds=self.retry_after)
        cursor = (
            self.matches.find({"aftermathDue": True, "endedAt": {"$lt": cutoff}})
            .sort("endedAt", ASCENDING)
            .limit(SWEEP_BATCH)
        )
        done = 0
        async for doc in cursor:
            match = Match.model_validate(doc)
            try:
                await self.run(match)
            except Exception:
                # The sweep's own PeriodicTask logs an outage; one bad match must not
                # stop the others behind it.
                logger.warning("match aftermath failed", exc_info=True,
                               extra={"match_id": str(match.id)})  # fmt: skip
                continue
            done += 1
        if done:
            logger.info("match aftermath caught up", extra={"matches": done})
        return done
