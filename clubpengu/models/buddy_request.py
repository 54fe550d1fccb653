"""BuddyRequest: one wallet asked another to be buddies, pending until answered or expired."""

from __future__ import annotations

from datetime import datetime

from beanie import Document
from pydantic import Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from clubpengu.models.base import CAMEL, utcnow


class BuddyRequest(Document):
    """A pending request from `from_wallet` to `to_wallet`; answering deletes it, and the
    TTL index removes it at `expires_at` (BUDDY_REQUEST_TTL) when nobody did.

    `hidden`: sent while the target ignores the sender. It is kept like any other, so the
    sender sees exactly what a request to someone offline gives (a second one is still a
    duplicate), but the target is never shown it.
    """

    model_config = CAMEL

    from_wallet: str
    to_wallet: str
    hidden: bool = False
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime

    class Settings:
        name = "buddy_requests"
        indexes = [
            IndexModel(
                [("fromWallet", ASCENDING), ("toWallet", ASCENDING)],
                unique=True,
                name="one_per_direction",
            ),
            IndexModel([("toWallet", ASCENDING), ("createdAt", DESCENDING)], name="received"),
            IndexModel([("expiresAt", ASCENDING)], expireAfterSeconds=0, name="ttl"),
        ]
