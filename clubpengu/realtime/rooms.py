"""The rooms catalogue: places of the world with their bounds, spawn, capacity and speed.

Players arrive around the spawn point, not on it: each lands at a spot drawn from their
own key (wallet, or player id for a guest) within `spread` units of it, so a busy room
does not stack everyone on one pixel, and the same player lands on the same spot.

Loaded from `clubpengu/data/rooms.json` (or an operator's file in the same format) and
validated at start-up; a bad file stops the node with one line naming the problem.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class RoomSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")
    name: str = Field(min_length=1, max_length=60)
    width: float = Field(gt=0, le=100_000)
    height: float = Field(gt=0, le=100_000)
    spawn: tuple[float, float]
    capacity: int = Field(ge=1, le=10_000)
    speed: float = Field(gt=0, le=100_000, description="units per second")
    game: bool = False
    spread: float = Field(default=200, ge=0, le=100_000, description="arrival radius, units")

    @model_validator(mode="after")
    def _spawn_inside(self) -> RoomSpec:
        x, y = self.spawn
        if not (0 <= x <= self.width and 0 <= y <= self.height):
            raise ValueError("spawn must lie inside the room")
        return self

    def clamp(self, x: float, y: float) -> tuple[float, float]:
        return min(max(x, 0.0), self.width), min(max(y, 0.0), self.height)

    def arrival(self, key: str) -> tuple[float, float]:
        """Where the player with `key` arrives: a point of the disc of radius `spread`
        around the spawn, uniform over the disc as keys vary and fixed for one key and
        room, clamped into the room and rounded to a tenth of a unit."""
        digest = hashlib.blake2b(f"{self.id}\0{key}".encode(), digest_size=8).digest()
        turn = int.from_bytes(digest[:4], "big") / 2**32
        reach = math.sqrt(int.from_bytes(digest[4:], "big") / 2**32) * self.spread
        x, y = self.spawn
        x, y = self.clamp(
            x + reach * math.cos(2 * math.pi * turn), y + reach * math.sin(2 * math.pi * turn)
        )
        return round(x, 1), round(y, 1)

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "width": self.width,
            "height": self.height,
            "capacity": self.capacity,
            "game": self.game,
        }


class _CatalogueFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    default: str
    rooms: list[RoomSpec] = Field(min_length=1)


class CatalogueError(ValueError):
    """The rooms file is unusable; the message names the file, the entry and the problem."""


@dataclass(frozen=True)
class RoomCatalogue:
    rooms: dict[str, RoomSpec]
    default: str

    def get(self, room_id: str) -> RoomSpec | None:
        return self.rooms.get(room_id)

    def with_capacity(self, capacity: int | None) -> RoomCatalogue:
        """The same rooms with every capacity set to `capacity` (ROOM_CAPACITY); None
        keeps the file's capacities."""
        if capacity is None:
            return self
        rooms = {k: v.model_copy(update={"capacity": capacity}) for k, v in self.rooms.items()}
        return RoomCatalogue(rooms, self.default)

    @classmethod
    def load(cls, path: Path | None = None) -> RoomCatalogue:
        source = str(path) if path else "clubpengu/data/rooms.json"
        try:
            if path is None:
                text = resources.files("clubpengu.data").joinpath("rooms.json").read_text()
            else:
                text = path.read_text()
            data = json.loads(text)
        except (OSError, ValueError) as error:
            raise CatalogueError(f"{source}: cannot read rooms: {error}") from None
        try:
            parsed = _CatalogueFile.model_validate(data)
        except ValidationError as error:
            problem = error.errors(include_url=False, include_input=False)[0]
            where = ".".join(str(p) for p in problem["loc"])
            raise CatalogueError(f"{source}: {where}: {problem['msg']}") from None
        return cls.from_specs(parsed.rooms, parsed.default, source)

    @classmethod
    def from_specs(cls, specs: list[RoomSpec], default: str, source: str) -> RoomCatalogue:
        rooms: dict[str, RoomSpec] = {}
        for spec in specs:
            if spec.id in rooms:
                raise CatalogueError(f"{source}: rooms.{spec.id}: duplicate room id")
            rooms[spec.id] = spec
        if default not in rooms:
            raise CatalogueError(f"{source}: default: no room {default!r} in the file")
        return cls(rooms, default)


def distance(x1: float, y1: float, x2: float, y2: float) -> float:
    return math.hypot(x2 - x1, y2 - y1)
