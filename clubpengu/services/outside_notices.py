"""Balances changed outside every node (the CLI, a script), told to the players online.

A node's own ledger writes reach the player at once: `notify` pushes to the wallet's live
connection, here or (with Redis) on its owner's node. A process that is not a node has
no connection to tell, and may have no Redis either (one node and the CLI on the
embedded database). So it records each committed change in `coin_notices` (`Outbox`),
and every node reads the new ones every POLL_SECONDS (`OutsideNotices`): one query on the
indexed `at`, whatever the number of players, and one read of the balances of those of
its own live players the notices name. Each node tells only its own connections, so a
player is told once however many nodes there are; the balance told is the one read then,
not the writer's, so a purchase made in between is not undone on the player's screen.

A notice is looked for during OVERLAP_SECONDS after its `at` (the writer's clock): that
covers a commit that lands after a later one, and clocks of the machines apart by less;
the ids seen in that window are kept so that nothing is told twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo.asynchronous.database import AsyncDatabase

from clubpengu.background import PeriodicTask
from clubpengu.models import CoinNotice, User
from clubpengu.models.base import utcnow
from clubpengu.services.notices import CoinsChanged, Notice

logger = logging.getLogger(__name__)
POLL_SECONDS = 0.5
OVERLAP_SECONDS = 10.0
NOTICES = CoinNotice.Settings.name
USERS = User.Settings.name


class Outbox:
    """A `Notify` for a process that is not a node: it keeps each coin change, and
    `flush` stores them for the nodes (after the command's commits, as `notify` is called
    after each commit)."""

    def __init__(
        self, db: AsyncDatabase[dict[str, Any]], clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.collection = db[NOTICES]
        self.clock = clock
        self.pending: list[dict[str, Any]] = []

    def __call__(self, wallet: str, notice: Notice) -> None:
        if isinstance(notice, CoinsChanged):
            self.pending.append(
                {
                    "walletAddress": wallet,
                    "delta": notice.delta,
                    "reason": notice.reason,
                    "at": self.clock(),
                }
            )

    async def flush(self) -> int:
        """Store the changes kept so far; how many."""
        pending, self.pending = self.pending, []
        if pending:
            await self.collection.insert_many(pending)
        return len(pending)


# Tell one wallet's connections on this node a notice; False when it has none here.
TellHere = Callable[[str, Notice], bool]
IsHere = Callable[[str], bool]


class OutsideNotices:
    """A node's reader of `coin_notices` (see the module docstring)."""

    def __init__(
        self,
        db: AsyncDatabase[dict[str, Any]],
        is_here: IsHere,
        tell_here: TellHere,
        clock: Callable[[], datetime] = utcnow,
        interval: float = POLL_SECONDS,
    ) -> None:
        self.notices = db[NOTICES]
        self.users = db[USERS]
        self.is_here = is_here
        self.tell_here = tell_here
        self.clock = clock
        self.seen: dict[ObjectId, datetime] = {}
        self.task = PeriodicTask("outside-notices", interval, self.poll)

    def start(self) -> None:
        self.task.start()

    async def stop(self) -> None:
        await self.task.stop()

    async def poll(self) -> int:
        """Tell this node's players the notices not seen yet; how many were told."""
        since = self.clock() - timedelta(seconds=OVERLAP_SECONDS)
        self.seen = {key: at for key, at in self.seen.items() if at > since}
        cursor = self.notices.find({"at": {"$gt": since}}).sort("at", 1)
        fresh = [doc async for doc in cursor if doc["_id"] not in self.seen]
        for doc in fresh:
            self.seen[doc["_id"]] = doc["at"]
        here = [doc for doc in fresh if self.is_here(doc["walletAddress"])]
        if not here:
            return 0
        wallets = list({doc["walletAddress"] for doc in here})
        balances = {
            user["walletAddress"]: int(user.get("coins", 0))
            async for user in self.users.find(
                {"walletAddress": {"$in": wallets}}, {"walletAddress": 1, "coins": 1}
            )
        }
        told = 0
        for doc in here:
            wallet = doc["walletAddress"]
            if wallet not in balances:  # removed since (an import rolled back)
                continue
            notice = CoinsChanged(balances[wallet], int(doc["delta"]), str(doc["reason"]))
            told += self.tell_here(wallet, notice)
        return told
