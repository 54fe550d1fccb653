"""Ignore: a wallet does not want to hear from another."""

from __future__ import annotations

from datetime import datetime

from beanie import Document
from pydantic import Field
from pymongo import ASCENDING, IndexModel

from clubpengu.models.base import CAMEL, utcnow


class Ignore(Document):
    """`owner` ignores `wallet`: the server does not deliver `wallet`'s chat and emotes to
    `owner`, nor its buddy requests and challenges. Indexed both ways: an owner's list, and
    every list a wallet is on (erasing it)."""

    model_config = CAMEL

    owner: str
    wallet: str
    created_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "ignores"
        indexes = [
            IndexModel(
                [("owner", ASCENDING), ("wallet", ASCENDING)], unique=True, name="one_per_pair"
            ),
            IndexModel([("wallet", ASCENDING)], name="wallet"),
        ]
