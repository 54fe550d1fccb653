"""The node's rooms and who is in them: joins, leaves and fan-out to members.

Pushes to a room are serialised once and the same text is queued on every member's
connection. A player is in at most one room; `leave` is idempotent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from clubpengu.errors import InvalidMessage, RoomFull
from clubpengu.realtime.connection import Connection, dumps
from clubpengu.realtime.rooms import RoomCatalogue, RoomSpec

logger = logging.getLogger(__name__)


@dataclass(eq=False)
class Member:
    connection: Connection
    player_id: str
    wallet: str | None
    username: str
    customization: dict[str, str]
    x: float
    y: float
    # Fields other services add to `<player>` (the walking puffle): merged into public().
    extras: dict[str, Any] = field(default_factory=dict)

    def public(self) -> dict[str, Any]:
        """The `<player>` object of PROTOCOL.md §2."""
        return {
            "playerId": self.player_id,
            "walletAddress": self.wallet,
            "username": self.username,
            "x": self.x,
            "y": self.y,
            "customization": self.customization,
            **self.extras,
        }


# Hooks for services that follow players (puffles, challenges, matches) without the hub
# knowing them: called synchronously after a member entered or left a room. On a close,
# `member.connection.closed` is already True.
RoomHook = Callable[[Member, "Room"], None]


@dataclass(eq=False)
class Room:
    spec: RoomSpec
    members: dict[str, Member] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.spec.id

    def broadcast(self, payload: dict[str, Any], exclude: str | None = None) -> None:
        text = dumps(payload)
        for player_id, member in self.members.items():
            if player_id != exclude:
                member.connection.send_text(text)


class Hub:
    def __init__(self, catalogue: RoomCatalogue) -> None:
        self.catalogue = catalogue
        self.rooms: dict[str, Room] = {}
        self.members: dict[str, Member] = {}  # by connection id
        self.entered_hooks: list[RoomHook] = []
        self.left_hooks: list[RoomHook] = []

    def spec(self, room_id: str | None) -> RoomSpec:
        spec = self.catalogue.get(room_id) if isinstance(room_id, str) else None
        if spec is None:
            raise InvalidMessage("room: no such room")
        return spec

    def room_of(self, connection: Connection) -> Room | None:
        member = self.members.get(connection.id)
        return self.rooms.get(connection.room) if member and connection.room else None

    def member(self, connection: Connection) -> Member | None:
        return self.members.get(connection.id)

    def join(self, member: Member, spec: RoomSpec) -> list[dict[str, Any]]:
        """Seat `member` in the room and tell the others; returns everyone's `<player>`."""
        room = self.rooms.get(spec.id)
        if room is None:
            room = self.rooms[spec.id] = Room(spec)
        if len(room.members) >= spec.capacity:
            raise RoomFull(f"{spec.name} is full ({spec.capacity} penguins); try another room")
        self.leave(member.connection)
        room.members[member.player_id] = member
        self.members[member.connection.id] = member
        member.connection.room = spec.id
        room.broadcast({"type": "player_joined", "player": member.public()}, member.player_id)
        self._run(self.entered_hooks, member, room)
        return [other.public() for other in room.members.values()]

    def leave(self, connection: Connection) -> Member | None:
        member = self.members.pop(connection.id, None)
        if member is None:
            return None
        room = self.rooms.get(connection.room or "")
        connection.room = None
        if room is not None and room.members.pop(member.player_id, None) is not None:
            room.broadcast({"type": "player_left", "playerId": member.player_id})
            if not room.members:
                del self.rooms[room.id]
            self._run(self.left_hooks, member, room)
        return member

    def _run(self, hooks: list[RoomHook], member: Member, room: Room) -> None:
        for hook in hooks:
            try:
                hook(member, room)
            except Exception:
                logger.exception("room hook failed", extra={"conn": member.connection.id})

    def update_look(self, connection: Connection, customization: dict[str, str]) -> None:
        """A player's new look: kept for later joiners and shown to the room now."""
        member = self.members.get(connection.id)
        room = self.room_of(connection)
        if member is None or room is None:
            return
        member.customization = dict(customization)
        push = {
            "type": "player_look",
            "playerId": member.player_id,
            "customization": member.customization,
        }
        room.broadcast(push, exclude=member.player_id)
