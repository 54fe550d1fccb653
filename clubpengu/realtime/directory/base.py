"""The RoomDirectory protocol: which instances of each room are open and who holds their
seats, for every node that shares it; the listings it answers with, and the errors a
reservation raises.

Seats are reserved in a directory before a join completes and released when the member
leaves for good (leave, kick, end of the reconnect grace, node shutdown), so capacity is
never exceeded, also under concurrent joins. `local.LocalDirectory` counts seats in this
process (one node); `redis.RedisDirectory` does the same across nodes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from clubpengu.errors import InvalidMessage, RoomFull
from clubpengu.realtime.rooms import RoomSpec


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
    seat twice. `player` is the member's `<player>` object (docs/protocol.md §2), which a
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
