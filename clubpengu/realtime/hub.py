"""The node's rooms and who is in them: joins, leaves, movement, chat, emotes, and the tick
that turns movement into one `moves` batch per room.

Every push to a room is serialised once and the same text is queued on every member's
connection (the tick never waits for a socket). Positions live here, in memory: a move
costs no database round trip; the last position is written to the User on leave.
Room events are also handed to the relay (realtime/relay.py), which publishes them on the
event bus for other nodes and feeds their events back in; nothing here knows about Redis.
A player is in at most one room; `leave` is idempotent.
"""

from __future__ import annotations

import logging
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from clubpengu.errors import InvalidMessage, Muted, NotFound, NotInRoom
from clubpengu.metrics import Metrics
from clubpengu.realtime.chat import ChatFilter, check_emote, clean_chat_text
from clubpengu.realtime.connection import Connection, Shared, dumps
from clubpengu.realtime.directory.base import RoomDirectory
from clubpengu.realtime.directory.local import LocalDirectory
from clubpengu.realtime.instances import instance_id, names_instance, parse_instance
from clubpengu.realtime.moderation import ChatRecorder
from clubpengu.realtime.movement import MoveBudget, clamp_move
from clubpengu.realtime.relay import NullRelay, Relay
from clubpengu.realtime.rooms import RoomCatalogue, RoomSpec
from clubpengu.wordfilter import WordFilter

logger = logging.getLogger(__name__)
_PLAYER_LEFT = '{"type":"player_left"'


def _entry(player_id: str, x: float, y: float) -> str:
    """One `{"playerId","x","y"}` of a `moves` batch, as JSON text.

    Batches are built by joining strings rather than dumping dicts: the tick then makes
    no container objects per mover, so it does not feed the garbage collector (whose
    pauses showed up in the tick's latency). Safe as text because player ids are "p" +
    hex, and coordinates are finite floats (validated on input), whose repr is JSON.
    """
    return f'{{"playerId":"{player_id}","x":{x!r},"y":{y!r}}}'


@dataclass(eq=False)
class Member:
    connection: Connection
    player_id: str
    wallet: str | None
    username: str
    customization: dict[str, str]
    x: float
    y: float
    room: Room | None = None
    budget: MoveBudget = field(default_factory=lambda: MoveBudget(0.0, 0.0))
    # Fields other services add to `<player>` (the walking puffle): merged into public().
    extras: dict[str, Any] = field(default_factory=dict)
    # How many active matches the player's User counted when the join read it: at 0 the
    # first room looks none up; None (not known) looks them up.
    active_matches: int | None = None

    def public(self) -> dict[str, Any]:
        """The `<player>` object of docs/protocol.md §2."""
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
# knowing them: called synchronously after a member entered a room (a join) or left one
# for good (a leave, or the end of its reconnect grace). On a close,
# `member.connection.closed` is already True.
RoomHook = Callable[[Member, "Room"], None]


class Room:
    """A live room instance (realtime/instances.py): its members on this node and the
    movement since the last tick. `spec` is the catalogue room it is an instance of.

    A tick has two steps (Hub.cut, Hub.send_batches): the cut takes the local movers into
    `cut` (and the relay publishes them), the send builds the batch from `cut` and the
    other nodes' movers received since the last send. On one node the two run back to back.
    """

    def __init__(
        self,
        spec: RoomSpec,
        instance: str | None = None,
        phase: int = 0,
        metrics: Metrics | None = None,
    ) -> None:
        self.spec = spec
        self.metrics = metrics or Metrics()
        self.id = instance or spec.id
        self.phase = phase  # which slice of the tick period sends this room's batches
        self.members: dict[str, Member] = {}
        self.moved: dict[str, Member] = {}  # local movers since the last cut
        # Local movers taken by the cut and not sent yet, as batch entries by player: when
        # a late tick cuts twice before one send, the later position replaces the earlier.
        self.cut: dict[str, str] = {}
        self.remote: dict[str, tuple[float, float]] = {}  # other nodes' movers, since a send
        # Where other nodes' players were last seen moving: slow clients' snapshots.
        self.remote_seen: dict[str, tuple[float, float]] = {}
        self._snapshot: str | None = None
        self._head = f'{{"type":"moves","room":"{self.id}","moves":['  # ids: [a-z0-9_~]

    def broadcast(self, payload: dict[str, Any], exclude: str | None = None) -> None:
        """Serialise once and deliver to this node's members of the room."""
        self.deliver(dumps(payload), exclude)

    def deliver(self, text: str, exclude: str | None = None, sender: str | None = None) -> None:
        """Queue `text` for this node's members (but `exclude`); a frame said by the
        wallet `sender` (chat, emote) skips the members who ignore it, one set look-up
        each, and only for such frames."""
        shared = Shared(text)
        members = self.members
        sent = 0
        for player_id, member in members.items():
            if player_id == exclude:
                continue
            connection = member.connection
            if sender is not None and sender in connection.ignored:
                continue
            connection.send_shared(shared)
            sent += 1
        self.metrics.message_out_text(text, sent)

    def snapshot(self) -> str:
        """A `moves` frame with every local member's position, built at most once a tick;
        it replaces a batch a slow client has not received yet."""
        if self._snapshot is None:
            entries = [_entry(m.player_id, m.x, m.y) for m in self.members.values()]
            entries += [_entry(p, x, y) for p, (x, y) in self.remote_seen.items()]
            self._snapshot = f"{self._head}{','.join(entries)}]}}"
        return self._snapshot

    def forget_snapshot(self) -> None:
        self._snapshot = None

    def movers(self) -> list[tuple[str, float, float]]:
        return [(m.player_id, m.x, m.y) for m in self.moved.values()]

    def take_cut(self) -> str:
        """Take the local movers since the last cut (latest position of each) as batch
        entries: they go into the next send here and to the bus for the other nodes."""
        local, self.moved = self.moved, {}
        entries = {m.player_id: _entry(m.player_id, m.x, m.y) for m in local.values()}
        self.cut.update(entries)
        return ",".join(entries.values())

    def take_batch(self) -> str | None:
        """The `moves` text for members: the cut's local movers and the other nodes'
        movers; None when nobody moved."""
        cut, remote = self.cut, self.remote
        if not cut and not remote:
            return None
        self.metrics.tick_batch(len(cut) + len(remote))
        self.cut, self.remote, self._snapshot = {}, {}, None
        mine = entries = ",".join(cut.values())
        if remote:
            theirs = ",".join([_entry(p, x, y) for p, (x, y) in remote.items()])
            entries = f"{mine},{theirs}" if mine else theirs
        return f"{self._head}{entries}]}}"


def room_phase(room_id: str, phases: int) -> int:
    """The slice of the tick period in which a room's batches are sent. A function of the
    room's id alone, so that every node sends (and, with several nodes, cuts) a room's
    batch at the same moment."""
    return zlib.crc32(room_id.encode()) % phases


def _phases(phase: int | None, phases: int) -> range:
    return range(phases) if phase is None else range(phase, phase + 1)


class Hub:
    """Rooms, members and room traffic on this node. Raises DomainErrors for the transport
    to turn into protocol errors (`not_in_room`, `room_full`, `invalid_message`)."""

    def __init__(
        self,
        catalogue: RoomCatalogue,
        *,
        directory: RoomDirectory | None = None,
        chat_filter: ChatFilter | None = None,
        clock: Callable[[], float] = time.monotonic,
        phases: int = 1,
        metrics: Metrics | None = None,
    ) -> None:
        self.catalogue = catalogue
        self.metrics = metrics or Metrics()
        self.directory: RoomDirectory = directory or LocalDirectory(catalogue, 0.0)
        self.chat_filter: ChatFilter = chat_filter or WordFilter(())
        # Set by the node: keeps each line for player reports (services/chat_log.py).
        self.chat_recorder: ChatRecorder | None = None
        self.clock = clock
        # Set by the node once built (a RoomRelay needs the hub); a hub alone relays nothing.
        self.relay: Relay = NullRelay()
        self.rooms: dict[str, Room] = {}
        self.members: dict[str, Member] = {}  # by connection id
        # Rooms are spread over `phases` slices of the tick period (`room_phase`); per
        # phase, the rooms with local movers since the last cut and those with movement
        # to send.
        self._moved: list[set[Room]] = [set() for _ in range(phases)]
        self._dirty: list[set[Room]] = [set() for _ in range(phases)]
        self.entered_hooks: list[RoomHook] = []
        self.left_hooks: list[RoomHook] = []

    # --- lookups ------------------------------------------------------------------------

    def resolve(self, room_id: str | None) -> tuple[RoomSpec, str | None]:
        """The catalogue room a client asked for, and the exact instance if it named one
        (`town~2`, or `town~1` for the first, answered as `town`); a catalogue id
        (`town`) names no instance. Raises InvalidMessage."""
        parsed = parse_instance(room_id) if isinstance(room_id, str) else None
        spec = self.catalogue.get(parsed[0]) if parsed else None
        if parsed is None or spec is None:
            raise InvalidMessage("room: no such room")
        exact = isinstance(room_id, str) and names_instance(room_id)
        return spec, (instance_id(spec.id, parsed[1]) if exact else None)

    def spec(self, room_id: str | None) -> RoomSpec:
        return self.resolve(room_id)[0]

    def member(self, connection: Connection) -> Member | None:
        return self.members.get(connection.id)

    def room_of(self, connection: Connection) -> Room | None:
        member = self.members.get(connection.id)
        return member.room if member else None

    async def player_in_room(self, connection: Connection, player_id: str) -> dict[str, Any]:
        """The `<player>` `player_id` of the connection's room instance, seated on any
        node. Raises NotInRoom, NotFound."""
        _, room = self._seated(connection)
        member = room.members.get(player_id)
        if member is not None:
            return member.public()
        if self.directory.shared:
            for player in await self.directory.others(room.id):
                if player.get("playerId") == player_id:
                    return player
        raise NotFound("No such player in your room")

    def _seated(self, connection: Connection) -> tuple[Member, Room]:
        member = self.members.get(connection.id)
        if member is None or member.room is None:
            raise NotInRoom()
        return member, member.room

    # --- entering and leaving -------------------------------------------------------------

    async def join(
        self,
        member: Member,
        spec: RoomSpec,
        instance: str | None = None,
        prefer: str | None = None,
    ) -> list[dict[str, Any]]:
        """Seat `member` in an instance of the room (RoomDirectory.reserve: `instance`
        exactly, else `prefer` or the fullest with a seat), leaving any other room, and
        tell the others; returns everyone's `<player>`. Raises RoomFull (or InvalidMessage
        for an instance that is not open), and then the member stays where it was."""
        seat = await self.reserve(member, spec, instance, prefer)
        return await self.take_seat(member, spec, seat)

    async def reserve(
        self, member: Member, spec: RoomSpec, instance: str | None = None, prefer: str | None = None
    ) -> str:
        """A seat for `member` in an instance of the room, not yet taken (`take_seat`
        takes it; `release_seat` gives it back). Raises RoomFull, InvalidMessage."""
        return await self.directory.reserve(spec, member.public(), instance, prefer)

    async def release_seat(self, seat: str, member: Member) -> None:
        await self.directory.release(seat, member.player_id)

    async def take_seat(self, member: Member, spec: RoomSpec, seat: str) -> list[dict[str, Any]]:
        """Seat `member` in the instance `seat` reserved for it (`reserve`), leaving any
        other room, and tell the others; returns everyone's `<player>`."""
        if member.room is not None and member.room.id == seat:
            return [other.public() for other in member.room.members.values()]
        try:
            await self.leave(member.connection)
        except BaseException:
            await self.directory.release(seat, member.player_id)
            raise
        room = self._open(spec, seat)
        member.budget = MoveBudget.full(spec, self.clock())
        self.attach(member, member.connection, room)
        joined = {"type": "player_joined", "player": member.public()}
        await self._push(room, dumps(joined), exclude=member.player_id)
        self._run(self.entered_hooks, member, room)
        players = [other.public() for other in room.members.values()]
        if self.directory.shared:  # members seated by other nodes, where last seen
            players += [
                p for p in await self.directory.others(seat) if p["playerId"] not in room.members
            ]
        return players

    def attach(self, member: Member, connection: Connection, room: Room | None = None) -> None:
        """Bind `member` to `connection` (a join, or a reconnect taking a parked member
        back) without telling anyone: the others see no leave/join flicker."""
        room = room or member.room
        assert room is not None
        member.connection, member.room = connection, room
        room.members[member.player_id] = member
        self.members[connection.id] = member
        connection.room, connection.player_id = room.id, member.player_id
        if not connection.rooms_visited or connection.rooms_visited[-1] != room.id:
            connection.rooms_visited.append(room.id)

    def detach(self, connection: Connection) -> Member | None:
        """Unbind the member from a connection that has ended but keep it in its room
        (reconnect grace); `remove` or `attach` settles it later."""
        member = self.members.pop(connection.id, None)
        connection.room = None
        return member

    async def leave(self, connection: Connection) -> Member | None:
        member = self.detach(connection)
        if member is not None:
            await self.remove(member)
        return member

    async def remove(self, member: Member) -> None:
        """Take `member` out of its room and tell the others (`player_left`)."""
        room, member.room = member.room, None
        if room is None or room.members.pop(member.player_id, None) is None:
            return
        room.moved.pop(member.player_id, None)
        await self.directory.release(room.id, member.player_id)
        if not room.members:
            self._close(room)
        await self._push(room, dumps({"type": "player_left", "playerId": member.player_id}))
        self._run(self.left_hooks, member, room)

    def _run(self, hooks: list[RoomHook], member: Member, room: Room) -> None:
        for hook in hooks:
            try:
                hook(member, room)
            except Exception:
                logger.exception("room hook failed", extra={"conn": member.connection.id})

    async def update_look(self, connection: Connection, customization: dict[str, str]) -> None:
        """A player's new look: kept for later joiners and shown to the room now."""
        member = self.members.get(connection.id)
        if member is None or member.room is None:
            return
        member.customization = dict(customization)
        push = {
            "type": "player_look",
            "playerId": member.player_id,
            "customization": member.customization,
        }
        self.directory.update(member.room.id, member.public())
        await self._push(member.room, dumps(push), exclude=member.player_id)

    async def set_extra(
        self, member: Member, key: str, value: Any, push: dict[str, Any] | None = None
    ) -> None:
        """Set (or, with None, remove) a field other services add to the member's
        `<player>` (its walking puffle, its match) and tell the room with `push`, on every
        node."""
        if value is None:
            member.extras.pop(key, None)
        else:
            member.extras[key] = value
        if member.room is None:
            return
        self.directory.update(member.room.id, member.public())
        if push is not None:
            await self._push(member.room, dumps(push))

    def _open(self, spec: RoomSpec, instance: str) -> Room:
        room = self.rooms.get(instance)
        if room is None:
            phase = room_phase(instance, self.phases)
            room = self.rooms[instance] = Room(spec, instance, phase, self.metrics)
            self.relay.watch(instance)
        return room

    async def listing(self) -> list[dict[str, Any]]:
        """The `rooms` reply's list: every catalogue room with its instances."""
        return [room.public() for room in await self.directory.listing()]

    def _close(self, room: Room) -> None:
        del self.rooms[room.id]
        self._moved[room.phase].discard(room)
        self._dirty[room.phase].discard(room)
        self.relay.unwatch(room.id)

    # --- in a room ------------------------------------------------------------------------

    def move(self, connection: Connection, x: float, y: float) -> tuple[float, float]:
        """Record where the player is (bounds and speed enforced); the next tick sends it."""
        member, room = self._seated(connection)
        member.x, member.y = clamp_move(
            room.spec, member.budget, (member.x, member.y), (x, y), self.clock()
        )
        room.moved[member.player_id] = member
        self._moved[room.phase].add(room)
        return member.x, member.y

    async def chat(self, connection: Connection, text: str) -> None:
        """Say `text` in the room. A muted player is refused (Muted), and nobody else
        sees anything. Raises NotInRoom, InvalidMessage, Muted."""
        member, room = self._seated(connection)
        now = time.time()
        if connection.mute is not None and connection.mute.active(now):
            raise Muted(connection.mute.until)
        sent = clean_chat_text(text)
        clean = self.chat_filter.apply(sent)
        frame = {
            "type": "chat",
            "playerId": member.player_id,
            "username": member.username,
            "text": clean,
            "ts": int(now * 1000),
        }
        await self._push(room, dumps(frame), sender=member.wallet)
        if self.chat_recorder is not None:
            self.chat_recorder.record(
                room.id, member.wallet, member.player_id, member.username, sent, clean
            )

    async def emote(self, connection: Connection, emote: str) -> None:
        member, room = self._seated(connection)
        frame = {"type": "emote", "playerId": member.player_id, "emote": check_emote(emote)}
        await self._push(room, dumps(frame), sender=member.wallet)

    async def announce(self, room_id: str, payload: dict[str, Any]) -> None:
        """Tell a room something (this node's members and, through the relay, the
        other nodes'); nothing happens when nobody is in it here and there is no other node."""
        text = dumps(payload)
        room = self.rooms.get(room_id)
        if room is not None:
            room.deliver(text)
        await self.relay.publish_push(room_id, text)

    async def _push(
        self, room: Room, text: str, exclude: str | None = None, sender: str | None = None
    ) -> None:
        room.deliver(text, exclude, sender)
        await self.relay.publish_push(room.id, text, sender)

    # --- the tick -------------------------------------------------------------------------

    @property
    def phases(self) -> int:
        return len(self._dirty)

    async def tick_once(self) -> int:
        """Cut and send every phase at once (tests); returns how many rooms got a batch."""
        await self.cut()
        return self.send_batches()

    async def tick_phase(self, phase: int) -> int:
        """Cut and send the rooms of `phase` back to back (no lead: one node)."""
        await self.cut(phase)
        return self.send_batches(phase)

    async def cut(self, phase: int | None = None) -> None:
        """The first step of a tick: take the local movers of each room of `phase` (every
        phase when None) for its next batch and publish them (one message per room) for
        the other nodes' batches of the same tick."""
        published: list[tuple[str, str]] = []
        for index in _phases(phase, self.phases):
            moved, self._moved[index] = self._moved[index], set()
            for room in moved:
                if self.directory.shared:  # the other nodes' listings of the room
                    self.directory.moved(room.id, room.movers())
                mine = room.take_cut()
                if mine:
                    self._dirty[index].add(room)
                    published.append((room.id, mine))
        if published:
            await self.relay.publish_moves(published)

    def send_batches(self, phase: int | None = None) -> int:
        """The second step: one `moves` batch to each room of `phase` (every phase when
        None) with movement since its last send, local or remote; returns how many rooms
        got one. Only queues: a slow client cannot hold the tick up.

        The tick loop (realtime/ticker.py) runs the phases in turn, `phases` times per
        tick period, so each room still gets at most one batch per tick, but the rooms'
        fan-outs are spread over the period instead of all falling at its start: the
        burst of sends (and of frames for the clients to read) is `phases` times smaller,
        and a move that arrives during a fan-out waits for less of it."""
        batches = 0
        for index in _phases(phase, self.phases):
            dirty, self._dirty[index] = self._dirty[index], set()
            for room in dirty:
                text = room.take_batch()
                if text is None:
                    continue
                batches += 1
                shared, snapshot = Shared(text), room.snapshot
                members = room.members
                for member in members.values():
                    member.connection.send_moves(shared, snapshot)
                self.metrics.message_out("moves", len(members))  # once per fan-out
        return batches

    # --- events from other nodes (through the relay) ---------------------------------------

    def deliver_remote(self, room_id: str, text: str, sender: str | None = None) -> None:
        room = self.rooms.get(room_id)
        if room is None:
            return
        if text.startswith(_PLAYER_LEFT):  # the serialiser writes `type` first
            player_id = orjson.loads(text)["playerId"]
            if player_id in room.members:
                return  # this node was reaped while cut off, but its player is still here
            room.remote_seen.pop(player_id, None)
            room.remote.pop(player_id, None)
            room.forget_snapshot()
        room.deliver(text, sender=sender)

    async def forget_players(self, seats: list[tuple[str, str]]) -> None:
        """The players of a node gone silent (its seats were released in the directory):
        each of their rooms hears `player_left`, here and on the other nodes."""
        for instance, player_id in seats:
            text = dumps({"type": "player_left", "playerId": player_id})
            self.deliver_remote(instance, text)
            await self.relay.publish_push(instance, text)

    async def reannounce(self, seats: list[tuple[str, dict[str, Any]]]) -> None:
        """This node was taken for dead and its players shown leaving: show them joining
        again to the other nodes (this node's members never saw them leave)."""
        for instance, player in seats:
            room = self.rooms.get(instance)
            member = room.members.get(player["playerId"]) if room else None
            if member is not None:
                joined = {"type": "player_joined", "player": member.public()}
                await self.relay.publish_push(instance, dumps(joined))

    def merge_remote_moves(self, room_id: str, moves: list[dict[str, Any]]) -> None:
        """Other nodes' movers join this node's next batch for the room."""
        room = self.rooms.get(room_id)
        if room is None:
            return
        for entry in moves:
            position = (float(entry["x"]), float(entry["y"]))
            room.remote[entry["playerId"]] = room.remote_seen[entry["playerId"]] = position
        self._dirty[room.phase].add(room)
