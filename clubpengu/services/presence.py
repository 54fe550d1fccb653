"""Presence on the User document: who is connected, on which node, and where they were."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from clubpengu.models import User
from clubpengu.models.base import utcnow

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Place:
    """Where a player was: the catalogue room, its instance, and the position."""

    room: str
    instance: str
    x: float
    y: float


class PresenceService:
    def __init__(self, node_id: str, clock: Callable[[], datetime] = utcnow) -> None:
        self.node_id = node_id
        self.clock = clock

    async def connected(self, wallet: str, player_id: str, room: str, instance: str) -> None:
        """`room` is the catalogue room, `instance` the live instance of it."""
        now = self.clock()
        await User.get_pymongo_collection().update_one(
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
                }
            },
        )

    async def disconnected(self, wallet: str, player_id: str, place: Place | None = None) -> bool:
        """Record the leave, with where the player was (`place`) so that the next join
        puts them back there; unless a newer connection of the wallet already took over
        (then `currentPlayerId` is not ours and its presence must stay). True if written."""
        now = self.clock()
        fields: dict[str, object] = {
            "isConnected": False,
            "nodeId": None,
            "lastLogoutAt": now,
            "lastActiveAt": now,
            "updatedAt": now,
        }
        if place is not None:
            fields.update(
                {
                    "lastRoom": place.room,
                    "lastInstance": place.instance,
                    "lastX": place.x,
                    "lastY": place.y,
                }
            )
        result = await User.get_pymongo_collection().update_one(
            {"walletAddress": wallet, "currentPlayerId": player_id}, {"$set": fields}
        )
        return result.modified_count == 1

    async def reset_node(self, node_id: str | None = None) -> int:
        """Mark disconnected every user a node left marked connected (after a crash)."""
        now = self.clock()
        result = await User.get_pymongo_collection().update_many(
            {"isConnected": True, "nodeId": node_id or self.node_id},
            {"$set": {"isConnected": False, "nodeId": None, "lastLogoutAt": now}},
        )
        if result.modified_count:
            logger.warning(
                "reset presence left behind by a stopped node",
                extra={"users": result.modified_count, "stale_node": node_id or self.node_id},
            )
        return result.modified_count
