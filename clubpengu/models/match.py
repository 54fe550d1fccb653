"""Match: a wagered game between two players, and its ordered event log."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from beanie import Document, Indexed
from pydantic import Field, model_validator
from pymongo import ASCENDING, DESCENDING, IndexModel

from clubpengu.models.base import CAMEL, CamelModel, utcnow

# The computer's seat in a match against the computer: no wallet anyone can sign in with
# (a wallet decodes to 32 bytes of base58), never paid and never written to a User.
COMPUTER_WALLET = "computer"


class Opponent(StrEnum):
    PLAYER = "player"
    COMPUTER = "computer"


class MatchStatus(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    ABORTED = "aborted"


class MatchPlayer(CamelModel):
    wallet_address: str
    username: str


class MatchLogEntry(CamelModel):
    """One accepted event of a match, numbered from 1 (`seq`) in the order it was accepted:
    a move (`seat`, `move` as the rules accepted it) by `wallet_address`."""

    seq: int
    kind: str = "move"
    seat: int
    wallet_address: str
    move: dict[str, Any]
    at: datetime


class Match(Document):
    """A game between two wallets with coins in escrow.

    `state` is the game's state as the server's rules computed it; `log` is its ordered
    event log, embedded so that a move is one single-document atomic write (state, turn,
    deadline, `version` + 1 and the new log entry together). The log is bounded by the
    game's `max_moves` (9, 42, 56), so the document stays a few kB. `version` is bumped by
    every accepted move and checked by the update that writes it (optimistic concurrency:
    a stale write matches nothing and is retried or refused, never overwrites). `seq` is
    the number of the last log entry. `settled_at` marks the one payout.

    `seed` deals the game (card-jitsu's decks): it is kept server-side only and never
    sent, since a client knowing it could predict the cards; `replay(game, seed, moves)`
    over the log rebuilds `state`. `wallets[i]` plays seat i. `turn_deadline` is when the
    seats the game waits for forfeit (turn timer); None once the match ended.
    """

    model_config = CAMEL

    game: str
    players: list[MatchPlayer]
    wallets: Annotated[list[str], Indexed()]
    wager: int = Field(default=0, ge=0)
    status: MatchStatus = MatchStatus.ACTIVE
    state: dict[str, Any] = Field(default_factory=dict)
    log: list[MatchLogEntry] = Field(default_factory=list)
    seed: int = 0
    turn: str | None = None
    turn_deadline: datetime | None = None
    version: int = 0
    seq: int = 0
    winner_wallet: str | None = None
    result: str | None = None
    # Settled without a payout: the player who gave up (forfeit, timeout, disconnect) had
    # made fewer than MATCH_MIN_MOVES moves, so both stakes went back.
    stakes_refunded: bool = False
    # "computer": one seat is the server's (`COMPUTER_WALLET`, playing at
    # `computer_level`); no wager, no challenge, and no rating counts it.
    opponent: Opponent = Opponent.PLAYER
    computer_level: str | None = None
    # Per seat, once settled: the house's reward (`match_reward`) and, when it is less
    # than the game's, why ("lost", "forfeit", "daily_cap" ...; None: paid in full).
    # Empty before settlement (and for matches settled before rewards existed).
    rewards: list[int] = Field(default_factory=list)
    reward_reasons: list[str | None] = Field(default_factory=list)
    challenge_id: str | None = None
    room: str | None = None  # where the challenge was made: who may watch
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    ended_at: datetime | None = None
    settled_at: datetime | None = None
    # Played out and settled, its stamps and leaderboard entries not yet recorded
    # (services/match_aftermath.py): set by the settlement, cleared once they are.
    aftermath_due: bool = False
    # The people playing (the wallets but the computer's seat): a unique index over the
    # active matches (`one_active_match`) keeps a person in one active match at a time,
    # whichever way it starts (services/matches/start.py). Filled from `wallets`.
    playing: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _people(self) -> Match:
        if not self.playing:
            self.playing = [w for w in self.wallets if w != COMPUTER_WALLET]
        return self

    class Settings:
        name = "matches"
        indexes = [
            IndexModel([("status", ASCENDING), ("turnDeadline", ASCENDING)], name="sweep"),
            IndexModel([("wallets", ASCENDING), ("createdAt", DESCENDING)], name="history"),
            IndexModel([("createdAt", ASCENDING), ("game", ASCENDING)], name="by_created"),
            IndexModel([("aftermathDue", ASCENDING), ("endedAt", ASCENDING)], name="aftermath"),
            # Matches started before `playing` existed lack it and are left out.
            IndexModel(
                [("playing", ASCENDING)],
                name="one_active_match",
                unique=True,
                partialFilterExpression={"status": "active", "playing": {"$exists": True}},
            ),
        ]

    @property
    def computer_seat(self) -> int | None:
        """The computer's seat in a match against the computer, else None."""
        if self.opponent != Opponent.COMPUTER:
            return None
        return self.wallets.index(COMPUTER_WALLET)

    def moves(self) -> list[tuple[int, dict[str, Any]]]:
        """The log as `(seat, move)` pairs in order, for `clubpengu.games.replay`."""
        return [(entry.seat, entry.move) for entry in self.log]
