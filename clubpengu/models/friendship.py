"""Friendship: two wallets who are buddies, one document per pair."""

from __future__ import annotations

from datetime import datetime

from beanie import Document
from pydantic import Field
from pymongo import ASCENDING, IndexModel

from clubpengu.models.base import CAMEL, utcnow


def pair(one: str, other: str) -> tuple[str, str]:
    """The pair in its one stored order (`low` < `high`), whoever asked first."""
    return (one, other) if one < other else (other, one)


class Friendship(Document):
    """Buddies `low` and `high` (`pair`). The unique index on the ordered pair is what
    makes two accepts at once, one each way, a single friendship; the index on `high`
    serves the other direction of "whose buddies" (`low` is the unique index's prefix)."""

    model_config = CAMEL

    low: str
    high: str
    created_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "friendships"
        indexes = [
            IndexModel([("low", ASCENDING), ("high", ASCENDING)], unique=True, name="one_per_pair"),
            IndexModel([("high", ASCENDING)], name="high"),
        ]
