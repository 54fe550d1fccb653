"""Match: a wagered game between two players, and its ordered event log."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from beanie import Document, Indexed
from pydantic import Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from clubpengu.models.base import CAMEL, CamelModel, utcnow


class MatchStatus(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    ABORTED = "aborted"


class MatchPlayer(CamelModel):
    wallet_address: str
    username: str


class Match(Document):
    """A game between two wallets with coins in escrow.

    `state` is the game's state as the server's rules computed it; `version` is bumped by
    every accepted move and checked by the update that writes it (optimistic concurrency:
    a stale write matches nothing and is retried or refused, never overwrites). `seq` is
    the number of the last MatchEvent. `settled_at` marks the one payout.

    `seed` deals the game (card-jitsu's decks): it is kept server-side only and never
    sent, since a client knowing it could predict the cards; `replay(game, seed, events)`
    rebuilds `state`. `wallets[i]` plays seat i. `turn_deadline` is when the seats the
    game waits for forfeit (turn timer); None once the match ended.
    """

    model_config = CAMEL

    game: str
    players: list[MatchPlayer]
    wallets: Annotated[list[str], Indexed()]
    wager: int = Field(default=0, ge=0)
    status: MatchStatus = MatchStatus.ACTIVE
    state: dict[str, Any] = Field(default_factory=dict)
    seed: int = 0
    turn: str | None = None
    turn_deadline: datetime | None = None
    version: int = 0
    seq: int = 0
    winner_wallet: str | None = None
    result: str | None = None
    challenge_id: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    ended_at: datetime | None = None
    settled_at: datetime | None = None

    class Settings:
        name = "matches"
        indexes = [
            IndexModel([("status", ASCENDING), ("turnDeadline", ASCENDING)], name="sweep"),
            IndexModel([("wallets", ASCENDING), ("createdAt", DESCENDING)], name="history"),
            IndexModel([("createdAt", ASCENDING), ("game", ASCENDING)], name="by_created"),
        ]


class MatchEvent(Document):
    """One accepted event of a match, numbered from 1; replaying them rebuilds `state`."""

    model_config = CAMEL

    match_id: str
    seq: int
    kind: str
    wallet_address: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "match_events"
        indexes = [
            IndexModel([("matchId", ASCENDING), ("seq", ASCENDING)], unique=True, name="order")
        ]
