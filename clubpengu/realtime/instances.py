"""Room instances: the catalogue's rooms are templates, live rooms are instances of them.

A room holds only so many penguins; when every instance of a room is full, another opens.
The first instance of a room has the room's own id (`town`), later ones a suffix
(`town~2`, `town~3`, ...). Asking for a catalogue id places a player in the fullest
instance that still has a seat (so rooms feel alive), opening one when all are full;
asking for an instance id seats the player in exactly that instance or refuses.

Seats are reserved in a directory before a join completes and released when the member
leaves for good (leave, kick, end of the reconnect grace, node shutdown), so capacity is
never exceeded, also under concurrent joins. `LocalDirectory` counts seats in this
process (one node); a Redis directory does the same across nodes.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from clubpengu.errors import InvalidMessage, RoomFull
from clubpengu.realtime.rooms import RoomCatalogue, RoomSpec

SEPARATOR = "~"
MAX_SUFFIX = 9999
_INSTANCE_ID = re.compile(r"^([a-z][a-z0-9_]{0,31})(?:~([1-9][0-9]{0,3}))?$")


def instance_id(room: str, suffix: int) -> str:
    """`town` for the first instance, `town~2` for the second, ..."""
    return room if suffix == 1 else f"{room}{SEPARATOR}{suffix}"


def parse_instance(text: str) -> tuple[str, int] | None:
    """(`room`, suffix) of an instance id, or None if the text is not one. The first
    instance is `town`; `town~1` names it too, for a client that must ask for exactly the
    first instance (`town` alone asks for any instance of the room)."""
    match = _INSTANCE_ID.match(text)
    if match is None:
        return None
    return match[1], int(match[2] or 1)


def names_instance(text: str) -> bool:
    """Whether a room a client asked for names one instance (`town~2`, `town~1`) rather
    than the room (`town`)."""
    return SEPARATOR in text


def full_error(spec: RoomSpec, instance: str) -> RoomFull:
    return RoomFull(f"{instance} is full ({spec.capacity} penguins); try {spec.id}")


def closed_error(instance: str) -> InvalidMessage:
    return InvalidMessage(f"room: {instance} is not open")


@dataclass(frozen=True)
class InstanceListing:
    id: str
    population: int


@dataclass(frozen=True)
class RoomListing:
    """A catalogue room and its live instances, first instance first."""

    spec: RoomSpec
    instances: list[InstanceListing]

    def public(self) -> dict[str, Any]:
        """One entry of the `rooms` reply (docs/protocol.md)."""
        capacity = self.spec.capacity
        return {
            "id": self.spec.id,
            "name": self.spec.name,
            "game": self.spec.game,
            "capacity": capacity,
            "population": sum(i.population for i in self.instances),
            "instances": [
                {"id": i.id, "population": i.population, "capacity": capacity}
                for i in self.instances
            ],
        }


class RoomDirectory(Protocol):
    """Which instances of each room are open and who holds their seats, for every node
    that shares the directory. Reservations are atomic: two joins never take the last
    seat twice. `player` is the member's `<player>` object (PROTOCOL.md §2), which a
    directory shared by several nodes keeps so that every node can list the room.
    `shared` is true for such a directory: only then are `others`, `update` and `moved`
    worth calling."""

    shared: bool

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def reserve(
        self,
        spec: RoomSpec,
        player: dict[str, Any],
        instance: str | None = None,
        prefer: str | None = None,
    ) -> str:
        """Seat `player_id` and return the instance id. With `instance`: exactly that
        instance (RoomFull when it has no seat, InvalidMessage when it is not open). Else
        `prefer` if it is open and has a seat, else the fullest instance with a seat, else
        a new instance with the smallest free suffix."""
        ...

    async def release(self, instance: str, player_id: str) -> None:
        """Give the seat back (idempotent)."""
        ...

    async def listing(self) -> list[RoomListing]:
        """Every catalogue room with its open instances and their populations."""
        ...

    async def others(self, instance: str) -> list[dict[str, Any]]:
        """The `<player>` of every member of `instance` seated by other nodes, at their
        last known positions."""
        ...

    def update(self, instance: str, player: dict[str, Any]) -> None:
        """A member's `<player>` changed (look, walking puffle, match): keep it for the
        other nodes' listings. Never waits."""
        ...

    def moved(self, instance: str, movers: list[tuple[str, float, float]]) -> None:
        """This node's movers of the tick, for the other nodes' listings. Never waits."""
        ...


@dataclass
class _Instance:
    id: str
    suffix: int
    seats: set[str] = field(default_factory=set)
    empty_since: float | None = None


class LocalDirectory:
    """The directory of a single node: seats counted in this process. A reservation runs
    without awaiting anything, so it is atomic on the event loop.

    An instance other than the first closes once it has been empty for `close_grace`
    seconds (checked when the room's instances are next looked at); its suffix is then
    free again, and the next instance to open takes the smallest free one."""

    shared = False

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def __init__(
        self,
        catalogue: RoomCatalogue,
        close_grace: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.catalogue = catalogue
        self.close_grace = close_grace
        self.clock = clock
        self._rooms: dict[str, dict[int, _Instance]] = {}

    async def reserve(
        self,
        spec: RoomSpec,
        player: dict[str, Any],
        instance: str | None = None,
        prefer: str | None = None,
    ) -> str:
        player_id: str = player["playerId"]
        open_ = self._open_instances(spec.id)
        if instance is not None:
            chosen = self._find(spec.id, open_, instance)
            if chosen is None:
                raise closed_error(instance)
            if player_id not in chosen.seats and len(chosen.seats) >= spec.capacity:
                raise full_error(spec, instance)
        else:
            chosen = self._choose(spec, open_, prefer)
        chosen.seats.add(player_id)
        chosen.empty_since = None
        return chosen.id

    async def release(self, instance: str, player_id: str) -> None:
        parsed = parse_instance(instance)
        if parsed is None:
            return
        found = self._rooms.get(parsed[0], {}).get(parsed[1])
        if found is not None and player_id in found.seats:
            found.seats.discard(player_id)
            if not found.seats:
                found.empty_since = self.clock()

    def seat(self, instance: str, player_id: str) -> None:
        """Record a seat another directory decided on (the Redis directory's local mirror),
        opening the instance here if needed."""
        parsed = parse_instance(instance)
        if parsed is None:
            return
        instances = self._open_instances(parsed[0])
        found = instances.get(parsed[1])
        if found is None:
            found = instances[parsed[1]] = _Instance(instance, parsed[1])
        found.seats.add(player_id)
        found.empty_since = None

    def seated(self, instance: str) -> bool:
        parsed = parse_instance(instance)
        found = self._rooms.get(parsed[0], {}).get(parsed[1]) if parsed else None
        return found is not None and bool(found.seats)

    async def others(self, instance: str) -> list[dict[str, Any]]:
        return []  # one node: every member is in the hub already

    def update(self, instance: str, player: dict[str, Any]) -> None:
        return None

    def moved(self, instance: str, movers: list[tuple[str, float, float]]) -> None:
        return None

    async def listing(self) -> list[RoomListing]:
        return [
            RoomListing(
                spec,
                [
                    InstanceListing(i.id, len(i.seats))
                    for _, i in sorted(self._open_instances(spec.id).items())
                ],
            )
            for spec in self.catalogue.rooms.values()
        ]

    def _open_instances(self, room: str) -> dict[int, _Instance]:
        """The room's open instances, after closing those empty past the grace."""
        instances = self._rooms.get(room)
        if instances is None:
            instances = self._rooms[room] = {1: _Instance(room, 1)}
        now = self.clock()
        for suffix in [
            s
            for s, i in instances.items()
            if s != 1 and i.empty_since is not None and now - i.empty_since >= self.close_grace
        ]:
            del instances[suffix]
        return instances

    @staticmethod
    def _find(room: str, instances: dict[int, _Instance], wanted: str) -> _Instance | None:
        parsed = parse_instance(wanted)
        if parsed is None or parsed[0] != room:
            return None
        return instances.get(parsed[1])

    def _choose(
        self, spec: RoomSpec, instances: dict[int, _Instance], prefer: str | None
    ) -> _Instance:
        preferred = self._find(spec.id, instances, prefer) if prefer else None
        if preferred is not None and len(preferred.seats) < spec.capacity:
            return preferred
        free = [i for i in instances.values() if len(i.seats) < spec.capacity]
        if free:
            return max(free, key=lambda i: (len(i.seats), -i.suffix))
        suffix = next(n for n in range(2, MAX_SUFFIX + 2) if n not in instances)
        if suffix > MAX_SUFFIX:
            raise full_error(spec, spec.id)
        opened = instances[suffix] = _Instance(instance_id(spec.id, suffix), suffix)
        return opened
