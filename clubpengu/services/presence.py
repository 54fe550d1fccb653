"""Presence on the User document: who is connected, on which node, and where they were.

Presence is cheap state (docs/durability.md): its writes do not wait for the journal, and
the writes of many players are made together (services/group_writer.py), so a sign-in
storm or a shutdown that closes every socket costs a few bulk writes, not one command per
player. A join does not wait for its write: under a sign-in storm SecantusDB runs the
group's updates one after another on one connection thread, in turn with the threads of
every sign-in, and a group of hundreds took seconds (15 ms an update, measured) while the
sign-ins themselves took a tenth of that; the player is seated and told meanwhile, and
nothing the join answers depends on the write. A leave waits for its write at most
`leave_wait` seconds: a socket's last task must end promptly even when the database is
slow, and a leave written a moment later changes nothing for anyone. Writes apply in the
order made (a leave never overtakes its join), and a failed write is logged.

At shutdown a node writes no leave per player: once its sockets are closed, one command
marks every user it has connected as gone (`leave_all`, by node id), and where each was
(room, position) is set by the final stats flush in the update it makes for that player
anyway (`place_fields`, StatsBatcher.set_with_counters). So a shutdown of N players writes
their presence in one command and their places in no command of their own, instead of N
updates competing with the stats flush it may land in.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from pymongo import UpdateOne
from pymongo.errors import PyMongoError

from clubpengu.db import Collection, without_journal_wait
from clubpengu.models import User
from clubpengu.models.base import utcnow
from clubpengu.services.group_writer import GroupWriter
from clubpengu.services.stamp_events import ROOMS_VISITED_PATH

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Place:
    """Where a player was: the catalogue room, its instance, and the position."""

    room: str
    instance: str
    x: float
    y: float


def place_fields(place: Place) -> dict[str, object]:
    """The user's fields that say where the player was (the next join starts there)."""
    return {
        "lastRoom": place.room,
        "lastInstance": place.instance,
        "lastX": place.x,
        "lastY": place.y,
    }


def _users() -> Collection:
    return without_journal_wait(User.get_pymongo_collection())


async def _write(updates: list[UpdateOne]) -> None:
    # Ordered: a player's leave must not overtake their join made just before it.
    await _users().bulk_write(updates, ordered=True)


LEAVE_WAIT_SECONDS = 1.0


class PresenceService:
    def __init__(
        self,
        node_id: str,
        clock: Callable[[], datetime] = utcnow,
        *,
        leave_wait: float = LEAVE_WAIT_SECONDS,
    ) -> None:
        self.node_id = node_id
        self.clock = clock
        self.leave_wait = leave_wait
        self.writer: GroupWriter[UpdateOne] = GroupWriter(_write, name="presence")

    def connected(
        self, wallet: str, player_id: str, room: str, instance: str
    ) -> asyncio.Future[None]:
        """Record the player connected in `room` (the catalogue room), `instance` (the live
        instance of it): written with the others' in the background. The future is done
        once it is written, for work that must come after it (a write to the same user)."""
        now = self.clock()
        update = UpdateOne(
            {"walletAddress": wallet},
            {
                "$set": {
                    "isConnected": True,
                    "currentPlayerId": player_id,
                    "nodeId": self.node_id,
                    "lastActiveAt": now,
                    "lastRoom": room,
                    "lastInstance": instance,
                    "updatedAt": now,
                },
                # The stamp for every room counts from this set (services/stamp_sessions.py).
                "$addToSet": {ROOMS_VISITED_PATH: room},
            },
        )
        return self.writer.submit_later(update)

    async def disconnected(self, wallet: str, player_id: str, place: Place | None = None) -> None:
        """Record the leave, with where the player was (`place`) so that the next join
        puts them back there; unless a newer connection of the wallet already took over
        (then `currentPlayerId` is not ours and its presence must stay)."""
        now = self.clock()
        fields: dict[str, object] = {
            "isConnected": False,
            "nodeId": None,
            "lastLogoutAt": now,
            "lastActiveAt": now,
            "updatedAt": now,
        }
        if place is not None:
            fields.update(place_fields(place))
        update = UpdateOne(
            {"walletAddress": wallet, "currentPlayerId": player_id}, {"$set": fields}
        )
        if not await self.writer.submit(update, within=self.leave_wait):
            logger.debug("leave still being written", extra={"pending": self.writer.pending})

    async def leave_all(self) -> int:
        """At shutdown, once the sockets are closed and the reconnect graces ended: mark
        gone every user this node has connected, in one command, after the presence
        writes already made (a join's, a leave's before the shutdown). A wallet that a
        newer session took on another node names that node and is left alone. The number
        marked. The database out of reach is logged, not raised: the node's stop goes on
        to close its connection, and its next start marks the players gone (`reset_node`)."""
        await self.writer.flush()
        now = self.clock()
        try:
            result = await _users().update_many(
                {"isConnected": True, "nodeId": self.node_id},
                {"$set": {"isConnected": False, "nodeId": None, "lastLogoutAt": now,
                          "lastActiveAt": now, "updatedAt": now}},
            )  # fmt: skip
        except PyMongoError as error:
            logger.warning(
                "players not marked gone at shutdown; the node's next start does it",
                extra={"error": type(error).__name__},
            )
            return 0
        return result.modified_count

    async def reset_node(self, node_id: str | None = None) -> int:
        """Mark disconnected every user a node left marked connected (after a crash)."""
        now = self.clock()
        result = await _users().update_many(
            {"isConnected": True, "nodeId": node_id or self.node_id},
            {"$set": {"isConnected": False, "nodeId": None, "lastLogoutAt": now}},
        )
        if result.modified_count:
            logger.warning(
                "reset presence left behind by a stopped node",
                extra={"users": result.modified_count, "stale_node": node_id or self.node_id},
            )
        return result.modified_count
