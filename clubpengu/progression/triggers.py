"""What earns a stamp: a machine-readable trigger per stamp, and the events the server
reports, so that awarding stamps is a table lookup rather than code per stamp.

A trigger names an event kind, optional filters (which game, against whom, which care
action) and a count. Each trigger has a progress `key` built from its kind and filters
alone; every stamp with the same key shares one progress value per wallet. For a counted
kind the value is a number the server adds one to per matching event; for a distinct kind
(rooms visited) it is the set of different subjects seen, and `count` may be `"all"`: every
subject there is (every room of the room catalogue), passed in as the universe.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass
from typing import Annotated, ClassVar, Literal, Self, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from clubpengu.games import GAMES
from clubpengu.games.computer import Level

# Far above any count a stamp needs: a bound all the same, as for every number in a file.
MAX_COUNT = 100_000
ProgressValue = int | Set[str]
Count = Annotated[int, Field(ge=1, le=MAX_COUNT, strict=True)]


@dataclass(frozen=True, slots=True)
class StampEvent:
    """Something a wallet did, as the service that saw it reports it.

    `kind` is one of EVENT_KINDS; the other fields are set where they apply: `game`,
    `opponent` ("player" or "computer") and `level` for matches, `action` for puffle care,
    `subject` for the thing a distinct kind counts (a room id).
    """

    kind: str
    game: str | None = None
    opponent: str | None = None
    level: str | None = None
    action: str | None = None
    subject: str | None = None

    def __post_init__(self) -> None:
        # Events come from services, not clients: a kind no trigger knows is a typo that
        # would otherwise never earn anything, silently.
        if self.kind not in EVENT_KINDS:
            raise ValueError(f"unknown stamp event kind {self.kind!r}")
        if self.kind in DISTINCT_KINDS and not self.subject:
            raise ValueError(f"a {self.kind} event needs its subject")


@dataclass(frozen=True, slots=True)
class ProgressKey:
    """A progress value to advance: `distinct` ones gain the event's subject, others one."""

    key: str
    distinct: bool


class _Trigger(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    distinct: ClassVar[bool] = False
    event: str
    count: Count

    def filters(self) -> dict[str, str]:
        """The event fields this trigger requires, by name (none: any such event)."""
        return {}

    @property
    def key(self) -> str:
        return ":".join(
            [self.event, *(f"{name}={value}" for name, value in self.filters().items())]
        )

    @property
    def progress(self) -> ProgressKey:
        return ProgressKey(self.key, self.distinct)

    def matches(self, event: StampEvent) -> bool:
        return event.kind == self.event and all(
            getattr(event, name) == value for name, value in self.filters().items()
        )

    def reached(self, value: ProgressValue | None, universe: Set[str] | None = None) -> bool:
        return isinstance(value, int) and value >= self.count


class MatchTrigger(_Trigger):
    """Matches finished (played), won or drawn; optionally one game, opponent and level."""

    event: Literal["match_played", "match_won", "match_drawn"]
    game: str | None = None
    opponent: Literal["player", "computer"] | None = None
    level: Level | None = None

    @model_validator(mode="after")
    def _known(self) -> Self:
        if self.game is not None and self.game not in GAMES:
            raise ValueError(f"game {self.game!r} is not one of {', '.join(sorted(GAMES))}")
        if self.level is not None and self.opponent != "computer":
            raise ValueError('a level applies only with "opponent": "computer"')
        return self

    def filters(self) -> dict[str, str]:
        fields = {"game": self.game, "opponent": self.opponent, "level": self.level}
        return {name: str(value) for name, value in fields.items() if value is not None}


class PuffleCareTrigger(_Trigger):
    event: Literal["puffle_cared"]
    action: Literal["feed", "play", "bathe", "rest"] | None = None

    def filters(self) -> dict[str, str]:
        return {} if self.action is None else {"action": self.action}


class CountTrigger(_Trigger):
    """Events counted without filters."""

    event: Literal["signed_in", "puffle_adopted", "item_purchased", "chat_sent", "buddy_made"]


class RoomTrigger(_Trigger):
    """Different rooms visited: a number of them, or `"all"` the room catalogue holds."""

    distinct: ClassVar[bool] = True
    event: Literal["room_visited"]
    count: Count | Literal["all"]  # type: ignore[assignment]

    def reached(self, value: ProgressValue | None, universe: Set[str] | None = None) -> bool:
        seen = value if isinstance(value, Set) else frozenset()
        if self.count == "all":
            if not universe:
                raise ValueError("a stamp for every room needs the room ids (universe)")
            # A world of one room (a test's, a small deployment's) has nothing to explore:
            # its first join would otherwise earn the stamp.
            return len(universe) > 1 and seen >= universe
        return len(seen) >= self.count


Trigger = Annotated[
    MatchTrigger | PuffleCareTrigger | CountTrigger | RoomTrigger, Field(discriminator="event")
]

TRIGGER_MODELS = (MatchTrigger, PuffleCareTrigger, CountTrigger, RoomTrigger)
EVENT_KINDS: tuple[str, ...] = tuple(
    kind for model in TRIGGER_MODELS for kind in get_args(model.model_fields["event"].annotation)
)
DISTINCT_KINDS = frozenset(
    kind
    for model in TRIGGER_MODELS
    if model.distinct
    for kind in get_args(model.model_fields["event"].annotation)
)


Universe = Mapping[str, Set[str]]
