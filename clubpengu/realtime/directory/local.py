"""The room directory of a single node: seats counted in this process."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from clubpengu.realtime.directory.base import (
    InstanceListing,
    RoomListing,
    closed_error,
    full_error,
)
from clubpengu.realtime.instances import MAX_SUFFIX, instance_id, parse_instance
from clubpengu.realtime.rooms import RoomCatalogue, RoomSpec


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
