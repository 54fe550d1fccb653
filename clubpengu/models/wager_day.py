"""WagerDay: what wagers moved in one UTC day, between one pair or to one winner."""

from __future__ import annotations

from datetime import datetime

from beanie import Document
from pydantic import Field
from pymongo import ASCENDING, IndexModel

from clubpengu.models.base import CAMEL


class WagerDay(Document):
    """A counter of one UTC day, keyed by its `_id`: `pair:<wallet>|<wallet>:<day>` (the
    two wallets sorted, so either direction counts) holds the coins wagers moved between
    them (`coins`); `won:<wallet>:<day>` the coins that wallet won from wagers.

    Written by the settlement's transaction ($inc, upserted) and read by the wager gates
    (services/wager_gates.py) by `_id` alone. `expires_at` (the day after next) carries a
    TTL index: a counter is only read on its own day.
    """

    model_config = CAMEL

    id: str  # type: ignore[assignment]  # the key itself, not an ObjectId
    coins: int = Field(default=0, ge=0)
    expires_at: datetime

    class Settings:
        name = "wager_days"
        indexes = [IndexModel([("expiresAt", ASCENDING)], expireAfterSeconds=0, name="ttl")]
