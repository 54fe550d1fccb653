"""The stamp catalogue: `clubpengu/data/stamps.json`, validated once at start-up.

A stamp is earned once per wallet, only through server events (see triggers.py), and may
pay a coin reward through the ledger. Every reward is bounded and so is their sum, since
each wallet can earn each stamp once: the catalogue as a whole is a bounded coin source.
Migrated stamps are kept only when the catalogue knows their id.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from clubpengu.progression.triggers import ProgressKey, ProgressValue, StampEvent, Trigger, Universe

# The most one stamp pays, and all of them together: a wallet earns each stamp once, so the
# sum is what the catalogue can ever give one wallet.
MAX_REWARD = 500
MAX_TOTAL_REWARD = 2_000
# Also what migration accepts as a stamp id (at most 40 characters).
STAMP_ID = r"^[a-z][a-z0-9_]{0,39}$"


class StampCatalogError(ValueError):
    """The stamp file is missing or invalid; the message names the file and the entry."""


class Category(StrEnum):
    GAMES = "games"
    ACTIVITIES = "activities"
    PUFFLES = "puffles"
    SOCIAL = "social"


class Difficulty(StrEnum):
    """Club Penguin's four: green, yellow, blue and purple in its stamp book."""

    EASY = "easy"
    MEDIUM = "medium"
    HARD = "hard"
    EXTREME = "extreme"


class Stamp(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=STAMP_ID)
    name: str = Field(min_length=1, max_length=60)
    description: str = Field(min_length=1, max_length=200)
    category: Category
    difficulty: Difficulty
    reward: int = Field(default=0, ge=0, le=MAX_REWARD, strict=True)
    trigger: Trigger

    def public(self) -> dict[str, Any]:
        """The stamp as `stamp_earned` and the stamp book show it (how it is earned is the
        description's job; the trigger stays server-side)."""
        return self.model_dump(mode="json", exclude={"trigger"})


class _StampFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1)
    stamps: list[Stamp] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class StampSplit:
    """Migrated stamp ids: the ones the catalogue knows (kept) and the others (dropped)."""

    known: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


class StampCatalog:
    """The stamps by id, in file order, and the lookups that award them."""

    def __init__(self, stamps: Iterable[Stamp]) -> None:
        self._stamps: dict[str, Stamp] = {}
        for stamp in stamps:
            if stamp.id in self._stamps:
                raise StampCatalogError(f"stamp id {stamp.id!r} appears twice")
            self._stamps[stamp.id] = stamp
        total = self.total_reward
        if total > MAX_TOTAL_REWARD:
            raise StampCatalogError(
                f"the rewards add up to {total} coins, more than {MAX_TOTAL_REWARD}"
            )

    def __iter__(self) -> Iterator[Stamp]:
        return iter(self._stamps.values())

    def __len__(self) -> int:
        return len(self._stamps)

    def get(self, stamp_id: str) -> Stamp | None:
        return self._stamps.get(stamp_id)

    @property
    def total_reward(self) -> int:
        return sum(stamp.reward for stamp in self)

    def public(self) -> list[dict[str, Any]]:
        return [stamp.public() for stamp in self]

    def progress_keys(self, event: StampEvent) -> list[ProgressKey]:
        """The progress values `event` advances: one per distinct key of the triggers it
        matches, so the service keeps only values some stamp needs."""
        keys = {
            stamp.trigger.key: stamp.trigger.progress
            for stamp in self
            if stamp.trigger.matches(event)
        }
        return list(keys.values())

    def earned(
        self,
        event: StampEvent,
        progress: Mapping[str, ProgressValue],
        held: Collection[str],
        universe: Universe | None = None,
    ) -> list[Stamp]:
        """The stamps `event` earns: matched by it, not `held` yet, and reached by the
        wallet's `progress` (by key, after the event). `universe` gives, per distinct event
        kind, every subject there is (`{"room_visited": room ids}`) for the "all" counts."""
        return [
            stamp
            for stamp in self
            if stamp.id not in held
            and stamp.trigger.matches(event)
            and stamp.trigger.reached(
                progress.get(stamp.trigger.key), (universe or {}).get(stamp.trigger.event)
            )
        ]

    def welcome(self) -> tuple[str, ...]:
        """The stamps of a first sign-in (trigger `signed_in`, count 1): a new wallet is
        created holding them."""
        return tuple(
            stamp.id
            for stamp in self
            if stamp.trigger.event == "signed_in" and stamp.trigger.count == 1
        )

    def split_known(self, stamp_ids: Iterable[str]) -> StampSplit:
        """Migrated ids in their order, each once: those in the catalogue, and the others."""
        split = StampSplit()
        for stamp_id in stamp_ids:
            target = split.known if stamp_id in self._stamps else split.unknown
            if stamp_id not in target:
                target.append(stamp_id)
        return split


def load_stamps(path: Path | None = None) -> StampCatalog:
    """Read and validate the stamp catalogue (default: the packaged stamps.json).

    Raises StampCatalogError naming the file, the entry (by index and id) and the problem.
    """
    source = path or resources.files("clubpengu").joinpath("data", "stamps.json")
    raw: Any = None
    try:
        raw = json.loads(source.read_text(encoding="utf-8"))
        return StampCatalog(_StampFile.model_validate(raw).stamps)
    except (OSError, ValueError) as error:
        raise StampCatalogError(f"{source}: {_first_problem(error, raw)}") from None


def _first_problem(error: Exception, raw: Any) -> str:
    if not isinstance(error, ValidationError):
        return str(error)
    problem = error.errors(include_url=False)[0]
    location = list(problem["loc"])
    where = ".".join(str(part) for part in location)
    if len(location) >= 2 and location[0] == "stamps" and isinstance(location[1], int):
        entry = raw["stamps"][location[1]]
        stamp_id = entry.get("id") if isinstance(entry, dict) else None
        where = f"stamps[{location[1]}] (id {stamp_id!r}): " + ".".join(
            str(part) for part in location[2:]
        )
    return f"{where}: {problem['msg']}"
