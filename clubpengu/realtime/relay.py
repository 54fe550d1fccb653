"""Room traffic between nodes, over the event bus (Redis pub/sub with many nodes:
docs/many-nodes.md#what-crosses-redis).

The hub delivers to its own members directly and hands every room event to this relay,
which publishes it on `room:<id>`: pushes (chat, emote, player_joined, player_left) as
they happen, and movement as ONE message per room per tick holding only this node's
movers. The relay listens on the channels of the rooms that have members here, drops
what this node published itself (so nothing is delivered twice), delivers other nodes'
pushes to local members and merges their movers into this node's next batch.

Messages are `<JSON [node, kind]>\n<body>`: the body of a push is the frame exactly as
serialised by the publisher, so no node re-serialises it. Delivery is at-most-once, like
Redis pub/sub: positions self-heal on the next move.

The hub always has a relay (the `Relay` protocol): `NullRelay`, whose methods do nothing,
until the node gives it a `RoomRelay` over its bus. The node does so whatever the bus:
with the in-memory bus of a single node every message is its own, dropped on receipt.

With many nodes the tick is split (Hub.cut, then Hub.send_batches TICK_LEAD later, on
ticks aligned to the wall clock on every node): each node publishes its movers at the
cut, so the other nodes have them before they send the same tick's batches, and a client
gets one batch per tick holding its room's movers from every node.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Protocol

import orjson

from clubpengu.realtime.bus.base import EventBus
from clubpengu.realtime.names import room_channel

if TYPE_CHECKING:
    from clubpengu.realtime.hub import Hub

logger = logging.getLogger(__name__)
PUSH = "push"
MOVES = "moves"


def encode(node_id: str, kind: str, body: bytes, sender: str | None = None) -> bytes:
    head = [node_id, kind] if sender is None else [node_id, kind, sender]
    return orjson.dumps(head) + b"\n" + body


def decode(message: bytes) -> tuple[str, str, bytes, str | None]:
    """(node, kind, body, sender): `sender` is the wallet that said a chat line or an
    emote, for the receiving node's ignore filter (Room.deliver)."""
    head, _, body = message.partition(b"\n")
    fields = orjson.loads(head)
    return fields[0], fields[1], body, (fields[2] if len(fields) > 2 else None)


class Relay(Protocol):
    """Where the hub hands its room events for the other nodes, and from which their
    events come back into it (Hub.deliver_remote, Hub.merge_remote_moves)."""

    def watch(self, room_id: str) -> None:
        """The room has members on this node now: bring its other nodes' events here."""
        ...

    def unwatch(self, room_id: str) -> None:
        """The room has no members here any more."""
        ...

    async def publish_push(self, room_id: str, text: str, sender: str | None = None) -> None:
        """A frame this node delivered to its members of the room, for the others'
        (`sender`: the wallet that said it, when the ignore lists apply)."""
        ...

    async def publish_moves(self, cut: list[tuple[str, str]]) -> None:
        """The movers of one cut of the tick: (room id, the room's movers on this node as
        the JSON entries of a `moves` batch), one message per room."""
        ...

    async def stop(self) -> None: ...


class NullRelay:
    """The relay of a node alone: there is nobody to relay to. Each method does nothing,
    at the cost of the call, which replaced a check for a missing relay at each use."""

    def watch(self, room_id: str) -> None:
        return None

    def unwatch(self, room_id: str) -> None:
        return None

    async def publish_push(self, room_id: str, text: str, sender: str | None = None) -> None:
        return None

    async def publish_moves(self, cut: list[tuple[str, str]]) -> None:
        return None

    async def stop(self) -> None:
        return None


class RoomRelay:
    """The relay over the event bus (see the module docstring)."""

    def __init__(self, hub: Hub, bus: EventBus, node_id: str) -> None:
        self.hub = hub
        self.bus = bus
        self.node_id = node_id
        self._listeners: dict[str, asyncio.Task[None]] = {}

    def watch(self, room_id: str) -> None:
        """Listen on the room's channel (the room now has members on this node)."""
        if room_id not in self._listeners:
            self._listeners[room_id] = asyncio.create_task(
                self._listen(room_id), name=f"relay-{room_id}"
            )

    def unwatch(self, room_id: str) -> None:
        task = self._listeners.pop(room_id, None)
        if task is not None:
            task.cancel()

    async def stop(self) -> None:
        tasks = list(self._listeners.values())
        self._listeners.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def publish_push(self, room_id: str, text: str, sender: str | None = None) -> None:
        message = encode(self.node_id, PUSH, text.encode(), sender)
        await self.bus.publish(room_channel(room_id), message)

    async def publish_moves(self, cut: list[tuple[str, str]]) -> None:
        for room_id, entries in cut:
            body = f"[{entries}]".encode()
            await self.bus.publish(room_channel(room_id), encode(self.node_id, MOVES, body))

    async def _listen(self, room_id: str) -> None:
        async with self.bus.subscribe(room_channel(room_id)) as messages:
            async for message in messages:
                try:
                    self.apply(room_id, message)
                except Exception:
                    logger.exception("room event failed", extra={"room": room_id})

    def apply(self, room_id: str, message: bytes) -> None:
        """Apply one bus message; this node's own messages are ignored."""
        node_id, kind, body, sender = decode(message)
        if node_id == self.node_id:
            return
        if kind == PUSH:
            self.hub.deliver_remote(room_id, body.decode(), sender)
        elif kind == MOVES:
            self.hub.merge_remote_moves(room_id, orjson.loads(body))
