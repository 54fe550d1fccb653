"""Puffle: a player's pet."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from beanie import Document, Indexed
from pydantic import Field
from pymongo import ASCENDING, IndexModel

from clubpengu.models.base import CAMEL, utcnow


class Puffle(Document):
    """A pet owned by a wallet.

    Stats are stored as of `stats_at` and decay is computed from the elapsed time when they
    are read (services/puffles.py), so no timer runs per puffle. At most one puffle of an
    owner is `walking`. A released puffle keeps its document with `released_at` set, for
    history; live puffles are those without it.
    """

    model_config = CAMEL

    owner_wallet: Annotated[str, Indexed()]
    name: str
    color: str
    hunger: float = Field(default=100.0, ge=0, le=100)
    happiness: float = Field(default=100.0, ge=0, le=100)
    cleanliness: float = Field(default=100.0, ge=0, le=100)
    energy: float = Field(default=100.0, ge=0, le=100)
    stats_at: datetime = Field(default_factory=utcnow)
    walking: bool = False
    adopted_at: datetime = Field(default_factory=utcnow)
    released_at: datetime | None = None

    class Settings:
        name = "puffles"
        indexes = [IndexModel([("adoptedAt", ASCENDING)], name="by_adopted")]
