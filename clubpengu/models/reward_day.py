"""RewardDay: one UTC day's count of the house's match rewards, for the daily caps."""

from __future__ import annotations

from datetime import datetime

from beanie import Document
from pydantic import Field
from pymongo import ASCENDING, IndexModel

from clubpengu.models.base import CAMEL


class RewardDay(Document):
    """A counter of one UTC day, keyed by its `_id`: `coins:<wallet>:<day>` holds the
    match reward coins the wallet got that day, `computer:<wallet>:<day>` those of them
    from matches against the computer, and `pair:<wallet>|<wallet>:<day>` (the two wallets
    sorted) the rewarded matches between the two.

    Read and `$inc`ed (upserted) by the settlement's transaction (services/matches/
    rewards.py), by `_id` alone; two settlements that touch one counter conflict and one
    of them is retried, so a cap holds across nodes. `expires_at` (the day after next)
    carries a TTL index: a counter is only read on its own day.
    """

    model_config = CAMEL

    id: str  # type: ignore[assignment]  # the key itself, not an ObjectId
    total: int = Field(default=0, ge=0)
    expires_at: datetime

    class Settings:
        name = "reward_days"
        indexes = [IndexModel([("expiresAt", ASCENDING)], expireAfterSeconds=0, name="ttl")]
