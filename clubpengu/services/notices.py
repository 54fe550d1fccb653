"""What the services tell a player who did not ask: typed notices, never wire frames.

A service that wants a wallet told something (its new balance, a challenge, a match's new
state) calls the `Notify` it was given with a notice. The transport decides what a notice
looks like on the wire (transport/render.py) and delivers it to the wallet's live
connection, on this node or another; so a service never knows the protocol's frames.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from clubpengu.models import Match


@dataclass(frozen=True)
class Player:
    """Who is challenging or challenged, as the hub knows them."""

    wallet: str
    player_id: str
    username: str


@dataclass(frozen=True)
class CoinsChanged:
    """The wallet's balance changed by `delta` to `balance`; `reason` is the entry's type."""

    balance: int
    delta: int
    reason: str


MatchView = Literal["match_start", "match_state", "match_end"]


@dataclass(frozen=True)
class MatchUpdate:
    """`match` as seat `seat` may see it: started, after a move, or over."""

    view: MatchView
    match: Match
    seat: int


@dataclass(frozen=True)
class ChallengeReceived:
    """`challenger` invites the wallet to play `game` for `wager` coins each."""

    challenge_id: str
    game: str
    wager: int
    expires_at: datetime
    challenger: Player


@dataclass(frozen=True)
class ChallengeEnded:
    """A pending challenge ended without a match (declined, cancelled, expired ...)."""

    challenge_id: str
    reason: str


@dataclass(frozen=True)
class MigrationReviewed:
    """Staff decided the wallet's held save: `approved` (its `coins` credited) or
    `rejected`, with their reason."""

    claim_id: str
    status: str
    coins: int
    reason: str | None


@dataclass(frozen=True)
class Buddy:
    """A buddy (or a wallet on a list) as its owner sees it: online, and then where."""

    wallet: str
    username: str
    online: bool = False
    room: str | None = None  # the room instance, when online


@dataclass(frozen=True)
class BuddyRequested:
    """`sender` asks the wallet to be buddies."""

    sender: Buddy


@dataclass(frozen=True)
class BuddyAdded:
    """The wallet and `buddy` are buddies now."""

    buddy: Buddy


@dataclass(frozen=True)
class BuddyWithdrawn:
    """`wallet` took back the request it had sent the wallet."""

    wallet: str


@dataclass(frozen=True)
class BuddyRemoved:
    """The wallet and `wallet` are buddies no more."""

    wallet: str


BuddyEvent = Literal["buddy_online", "buddy_offline", "buddy_moved"]


@dataclass(frozen=True)
class BuddyStatus:
    """A buddy came online, went offline or changed rooms (`room`: where it is now)."""

    event: BuddyEvent
    wallet: str
    room: str | None = None


@dataclass(frozen=True)
class StampEarned:
    """The wallet earned a stamp: `stamp` as the stamp book shows it (id, name,
    description, category, difficulty, reward)."""

    stamp: dict[str, Any]


Notice = (
    CoinsChanged | MatchUpdate | ChallengeReceived | ChallengeEnded | MigrationReviewed
    | BuddyRequested | BuddyWithdrawn | BuddyAdded | BuddyRemoved | BuddyStatus | StampEarned
)  # fmt: skip
# Deliver a notice to a wallet's live connection; must not block and must not raise for
# a wallet with no connection (the notice is then simply not seen).
Notify = Callable[[str, Notice], None]


def ignore(wallet: str, notice: Notice) -> None:
    """A Notify for tools and scripts that have nobody to tell."""
