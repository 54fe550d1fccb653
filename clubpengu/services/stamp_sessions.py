"""Stamps for what a player does many times a minute (chat lines, room changes), counted
in memory on the node that holds the player's connection: no database write per event.

At the join the User is read anyway; from it each connection gets a `Progress`: the stamps
held, the chat lines counted so far (`stats.social.chats` as stored, plus what this node's
stats batcher has not flushed yet) and the rooms seen (`stampProgress.room_visited`).
Then:

- a chat line adds one in memory (the stats batcher counts it for the database, as it
  did before); the line that reaches a stamp's count awards it, once;
- a room is added to `stampProgress.room_visited` by the presence update that every join
  and room change writes anyway (services/presence.py), so it costs no write of its own;
  the room that completes the set awards the explorer's stamp, from the set kept here.

A player has one live session at a time, so one node counts for them. The stored chat
count lags the truth by at most one stats flush (a player who moved node within the
flush interval): the count then starts a little low, never high, and the stamp comes a
few lines late rather than early.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from clubpengu.models import User
from clubpengu.progression.triggers import StampEvent
from clubpengu.realtime.connection import Connection
from clubpengu.services.stamp_events import ROOMS_VISITED
from clubpengu.services.stamps import StampService
from clubpengu.services.stats import StatsBatcher

ATTRIBUTE = "stamps"
CHAT_STAT = "social.chats"  # the stats batcher's chat counter (transport/handlers/room.py)


@dataclass
class Progress:
    """One connection's view of its wallet's stamps and counts."""

    wallet: str
    held: set[str] = field(default_factory=set)
    chats: int = 0
    rooms: set[str] = field(default_factory=set)


class StampSessions:
    """Chat lines, room visits and the first sign-in, for connected players."""

    def __init__(self, stamps: StampService, stats: StatsBatcher) -> None:
        self.stamps = stamps
        self.stats = stats
        self.chat_stamps = [
            (stamp, stamp.trigger.count)
            for stamp in stamps.catalog
            if stamp.trigger.event == "chat_sent" and isinstance(stamp.trigger.count, int)
        ]

    def joined(self, connection: Connection, user: User, room: str) -> None:
        """The player is in the world (a join or a reconnect): start counting from what
        the User says, and count the room they are in."""
        wallet = user.wallet_address
        stored = _number(_path(user.stats.model_dump(by_alias=True), CHAT_STAT))
        pending = self.stats.pending(wallet).get(CHAT_STAT, 0)
        rooms = user.stamp_progress.get(ROOMS_VISITED)
        progress = Progress(
            wallet,
            held=set(user.stamps),
            chats=int(stored + pending),
            rooms={room for room in rooms if isinstance(room, str)}
            if isinstance(rooms, list)
            else set(),
        )
        connection.attributes[ATTRIBUTE] = progress
        # (The first sign-in's stamp comes with the new user: services/auth.py.)
        self.visited(connection, room)

    def chatted(self, connection: Connection) -> None:
        """One chat line sent (after the stats batcher counted it). O(1) but at a stamp's
        count, when that stamp is awarded in the background."""
        progress: Progress | None = connection.attributes.get(ATTRIBUTE)
        if progress is None:
            return
        progress.chats += 1
        for stamp, count in self.chat_stamps:
            if stamp.id not in progress.held and progress.chats >= count:
                progress.held.add(stamp.id)
                self.stamps.spawn(self.stamps.award(progress.wallet, stamp), "stamps:chat")

    def visited(self, connection: Connection, room: str) -> None:
        """The player entered `room` (a catalogue room id; presence stores it). Only a
        room new to the wallet can complete the set."""
        progress: Progress | None = connection.attributes.get(ATTRIBUTE)
        if progress is None or room in progress.rooms:
            return
        progress.rooms.add(room)
        event = StampEvent(ROOMS_VISITED, subject=room)
        seen = {ROOMS_VISITED: frozenset(progress.rooms)}
        earned = self.stamps.catalog.earned(event, seen, progress.held, self.stamps.universe)
        for stamp in earned:
            progress.held.add(stamp.id)
            self.stamps.spawn(self.stamps.award(progress.wallet, stamp), "stamps:room")


def _path(document: Mapping[str, Any], path: str) -> Any:
    node: Any = document
    for part in path.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    return value
