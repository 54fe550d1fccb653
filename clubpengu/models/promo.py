"""PromoCode and PromoRedemption: codes that grant coins and/or items, once per wallet."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from beanie import Document, Indexed
from pydantic import Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from clubpengu.models.base import CAMEL, utcnow


class PromoCode(Document):
    """A code players redeem for coins and/or items (services/promos.py).

    `code` is stored upper-case and is unique. `redeemed_count` only grows, by the same
    conditional update that checks it against `max_redemptions`, inside the redemption's
    transaction, so concurrent redemptions never exceed the maximum. An inactive or
    expired code redeems nothing; `expires_at` None means it never expires.
    """

    model_config = CAMEL

    code: Annotated[str, Indexed(unique=True)]
    coins: int = Field(default=0, ge=0)
    items: list[str] = Field(default_factory=list)
    max_redemptions: int = Field(ge=1)
    redeemed_count: int = Field(default=0, ge=0)
    expires_at: datetime | None = None
    active: bool = True
    created_by: str
    created_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "promo_codes"
        indexes = [IndexModel([("createdAt", DESCENDING)], name="newest")]


class PromoRedemption(Document):
    """One wallet's redemption of one code; the unique (code, wallet) index is what makes
    a second redemption by the same wallet fail. `transaction_id` is the ledger entry of
    the coins, when the code grants any."""

    model_config = CAMEL

    code: str
    wallet_address: Annotated[str, Indexed()]
    coins: int = 0
    items: list[str] = Field(default_factory=list)
    transaction_id: str | None = None
    redeemed_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "promo_redemptions"
        indexes = [
            IndexModel(
                [("code", ASCENDING), ("walletAddress", ASCENDING)],
                unique=True,
                name="once_per_wallet",
            )
        ]
