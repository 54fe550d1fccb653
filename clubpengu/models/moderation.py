"""Moderation: the ban and mute in force, kept on the User (sign-in and join read the User
anyway, so checking them costs no query), and `moderation_actions`, the history of every
ban, unban, mute and unmute of a wallet."""

from __future__ import annotations

from datetime import datetime

from beanie import Document
from pydantic import Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from clubpengu.models.base import CAMEL, CamelModel, utcnow


class Sanction(CamelModel):
    """A ban or a mute: in force until `until` (None: until lifted), with who imposed it,
    when and why; `action_id` is its ModerationAction."""

    until: datetime | None = None
    reason: str
    by: str
    at: datetime
    action_id: str | None = None


class Moderation(CamelModel):
    """The sanctions on a User (`User.moderation`, absent for most players). A sanction
    whose `until` has passed is simply no longer in force: nothing needs to clear it."""

    ban: Sanction | None = None
    mute: Sanction | None = None


class ModerationAction(Document):
    """One ban, unban, mute or unmute of a wallet, kept for good: the player's moderation
    history. Written in the same transaction as the User's `moderation` it changes.
    `report_id` names the report it resolved, when it came from the report queue."""

    model_config = CAMEL

    wallet_address: str
    action: str
    actor: str
    role: str | None = None
    reason: str
    note: str | None = None
    duration: str | None = None  # as the staff member wrote it ("24h"); None: permanent
    until: datetime | None = None
    report_id: str | None = None
    at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "moderation_actions"
        indexes = [IndexModel([("walletAddress", ASCENDING), ("at", DESCENDING)], name="by_wallet")]
