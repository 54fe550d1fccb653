"""User: one document per wallet; the player's identity, balance, unlocks and presence."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from beanie import Document, Indexed
from pydantic import Field, model_validator
from pymongo import ASCENDING, IndexModel

from clubpengu.models.base import CAMEL, CamelModel, iso, utcnow
from clubpengu.models.moderation import Moderation

DEFAULT_CUSTOMIZATION: dict[str, str] = {"color": "blue"}


class EconomyStats(CamelModel):
    total_coins_earned: int = 0
    total_coins_spent: int = 0


class UserStats(CamelModel):
    """`stats.economy` is kept by the ledger; other counters (`stats.movement.steps`,
    `stats.games.tictactoe.wins` ...) are added by `$inc` from the stats batcher and the
    match service, so the model accepts keys it does not declare."""

    model_config = CAMEL | {"extra": "allow"}

    economy: EconomyStats = Field(default_factory=EconomyStats)


class MigrationOutcome(CamelModel):
    """Where the wallet's save stands (`migrationClaim` on the User, shown to the player as
    `user.migration`): `applied` at once, `pending_review`, `approved` or `rejected` (with
    the staff's reason), the coins it brought or asks for."""

    claim_id: str
    status: str
    coins: int = 0
    reason: str | None = None
    decided_at: datetime | None = None

    def public(self) -> dict[str, Any]:
        return {
            "claimId": self.claim_id,
            "status": self.status,
            "coins": self.coins,
            "reason": self.reason,
            "decidedAt": self.decided_at.isoformat() if self.decided_at else None,
        }


class WalkingPuffle(CamelModel):
    """The puffle a player walks, as the room sees it in `<player>.puffle`."""

    puffle_id: str
    name: str
    color: str

    def view(self) -> dict[str, str]:
        return {"puffleId": self.puffle_id, "name": self.name, "color": self.color}


class User(Document):
    """A player, keyed by wallet address.

    `coins` never goes below zero: it changes only through the ledger's conditional
    update (services/economy.py), which writes a Transaction in the same MongoDB
    transaction. Presence (`is_connected`, `current_player_id`, `node_id`) says which node
    holds the player's live connection so a restarted node can reset what it left behind.
    `last_ip_hash` is a salted hash; the raw address is never stored.

    Every index costs each insert (sign-ups, the bulk import of saves), so only queries
    that exist get one: the wallet (unique, also staff search by wallet prefix), presence,
    `createdAt` (the report's new players), and `usernameLower` (unique: no two players
    share a name, whatever its case, services/usernames.py; also staff search by name
    prefix). It is filled from `username` when not given; a write that changes `username`
    must set it too. `moderation` holds the ban and mute in force, if any: the sign-in and
    the join read the User anyway, so checking them costs no query.
    """

    model_config = CAMEL

    wallet_address: Annotated[str, Indexed(unique=True)]
    username: str
    username_lower: str | None = None
    coins: int = Field(default=0, ge=0)
    customization: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_CUSTOMIZATION))
    unlocked_cosmetics: list[str] = Field(default_factory=list)
    unlocked_mounts: list[str] = Field(default_factory=lambda: ["none"])
    inventory: dict[str, int] = Field(default_factory=dict)
    stamps: list[str] = Field(default_factory=list)
    # When each held stamp was earned, set by the same update that adds it (services/
    # stamps.py); a migrated stamp has the migration's time. Stamps held before this was
    # kept have none.
    stamps_earned_at: dict[str, datetime] = Field(default_factory=dict)
    # What stamps count that no other field does (services/stamps.py): `room_visited` (the
    # rooms seen, a list), other counters by their trigger's key (`puffle_cared:action=feed`).
    stamp_progress: dict[str, Any] = Field(default_factory=dict)
    stats: UserStats = Field(default_factory=UserStats)

    is_connected: bool = False
    current_player_id: str | None = None
    node_id: str | None = None
    last_login_at: datetime | None = None
    last_logout_at: datetime | None = None
    last_active_at: datetime | None = None
    last_ip_hash: str | None = None
    last_room: str | None = None  # the catalogue room
    last_instance: str | None = None  # the instance of it (realtime/instances.py)
    last_x: float | None = None
    last_y: float | None = None

    moderation: Moderation | None = None

    migration_source: str | None = None
    migrated_at: datetime | None = None
    migration_claim: MigrationOutcome | None = None
    # Free matches finished as played (the loser, or both after a draw, made MATCH_MIN_MOVES
    # moves): what the wager gates count, kept here so a challenge needs no count query.
    free_matches: int = Field(default=0, ge=0)
    # The player asked for their data to be erased: it will be then, unless they cancel
    # (services/erasure.py). Kept here because the sign-in reads the User anyway.
    erasure_due_at: datetime | None = None
    # Set when an erasure of the wallet starts, on the User (or on an empty stand-in, when
    # there is none or once its data is gone) until it ends: the sign-in's own upsert
    # filters on it, and the join reads the User anyway, so refusing costs no command.
    erasing_since: datetime | None = None
    # Set once the wallet has (or had) a buddy, an ignore or a buddy request: only then does
    # a join read those lists, so a join of everyone else costs no extra command.
    social: bool = False
    # The latest UTC day (YYYY-MM-DD) whose daily bonus was paid, set by the bonus's own
    # balance update: a join that finds today here starts no bonus and reads nothing.
    daily_bonus_on: str | None = None
    # What a join would otherwise look up in other collections, kept here because the
    # sign-in reads the User anyway: the puffle walking (set and cleared by the walk and
    # the release, services/puffles.py) and how many active matches the player is in
    # ($inc'd by a match's start and its settlement, in their transactions). A count
    # above the truth only costs a look-up, which then sets it right; at 0 the join
    # looks up no match. Databases from before are filled in at start-up
    # (services/kept_on_user.py). `activeMatchesAt`: when a start last counted one, so
    # that a look-up racing a start's writes does not set the count to 0 under it.
    walking_puffle: WalkingPuffle | None = None
    active_matches: int = 0
    active_matches_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "users"
        indexes = [
            IndexModel([("isConnected", ASCENDING), ("nodeId", ASCENDING)], name="presence"),
            IndexModel([("createdAt", ASCENDING)], name="by_created"),
            # Sparse, not partial: a user written without the field (by hand) is still not
            # refused, and both SecantusDB and MongoDB walk a sparse index for any query that
            # cannot match a missing field: `$eq` and `$in` of names, a prefix range. The
            # partial index it replaces (`username_lower`, `$type: "string"`) made every
            # look-up by name a scan of every user: SecantusDB uses a partial index only for
            # a query it can prove lies inside the filter, never for `$type` or `$in`. Not a
            # plain unique index: it would key every user without the field as null and
            # refuse the second. (A null is keyed by a sparse index too; no writer stores
            # one: the validator below fills the field in.) A new name, because an index's
            # options cannot change under its name; the old one is dropped at start-up
            # (clubpengu/db.py, OBSOLETE_INDEXES).
            IndexModel(
                [("usernameLower", ASCENDING)], name="username_unique", unique=True, sparse=True
            ),
        ]

    @model_validator(mode="after")
    def _key_the_username(self) -> User:
        if self.username_lower is None:
            self.username_lower = self.username.lower()
        return self

    def public_profile(self) -> dict[str, Any]:
        """The `user` object of `auth_success` and `joined` (docs/protocol.md §1)."""
        return {
            "walletAddress": self.wallet_address,
            "username": self.username,
            "coins": self.coins,
            "customization": dict(self.customization),
            "unlockedCosmetics": list(self.unlocked_cosmetics),
            "unlockedMounts": list(self.unlocked_mounts),
            "inventory": dict(self.inventory),
            "stamps": list(self.stamps),
            "stampsEarnedAt": {
                stamp: iso(self.stamps_earned_at[stamp])
                for stamp in self.stamps
                if stamp in self.stamps_earned_at
            },
            "migration": self.migration_claim.public() if self.migration_claim else None,
        }
