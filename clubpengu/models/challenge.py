"""Challenge: an invitation to a wagered game, pending until answered or expired."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from beanie import Document, Indexed
from pydantic import Field
from pymongo import ASCENDING, IndexModel

from clubpengu.models.base import CAMEL, utcnow


class ChallengeStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class Challenge(Document):
    """A challenge from one wallet to another.

    `expires_at` carries a TTL index so old challenges disappear by themselves; the
    service still checks it at accept time because the TTL monitor runs only once a
    minute. The partial unique index allows one pending challenge per ordered pair.
    """

    model_config = CAMEL

    challenger_wallet: Annotated[str, Indexed()]
    target_wallet: Annotated[str, Indexed()]
    game: str
    wager: int = Field(default=0, ge=0)
    room: str | None = None
    status: ChallengeStatus = ChallengeStatus.PENDING
    match_id: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime

    class Settings:
        name = "challenges"
        indexes = [
            IndexModel([("expiresAt", ASCENDING)], expireAfterSeconds=0, name="ttl"),
            IndexModel(
                [("challengerWallet", ASCENDING), ("targetWallet", ASCENDING)],
                unique=True,
                partialFilterExpression={"status": "pending"},
                name="one_pending_per_pair",
            ),
        ]
