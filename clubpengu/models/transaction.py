"""Transaction: one ledger entry per wallet per coin change."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from beanie import Document, Indexed
from pydantic import Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from clubpengu.models.base import CAMEL, utcnow


class Transaction(Document):
    """A signed change of one wallet's balance, written in the same MongoDB transaction as
    the balance update (services/economy.py).

    One entry per wallet (a transfer writes two, linked by `transfer_id` and
    `counterparty_wallet`) so that "the sum of a wallet's entries equals its balance" is a
    plain `$group` by `wallet_address`. `idempotency_key` is unique: applying the same key
    again finds this entry and changes nothing. `actor` names who caused the change
    (`system`, `player:<wallet>`, `admin:<wallet>`, `match:<id>`).
    """

    model_config = CAMEL

    wallet_address: Annotated[str, Indexed()]
    amount: int
    balance_after: int = Field(ge=0)
    type: str
    reason: str | None = None
    proof: dict[str, Any] = Field(default_factory=dict)
    actor: str = "system"
    idempotency_key: Annotated[str, Indexed(unique=True)]
    counterparty_wallet: str | None = None
    transfer_id: str | None = None
    created_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "transactions"
        indexes = [
            IndexModel([("walletAddress", ASCENDING), ("createdAt", DESCENDING)], name="by_wallet"),
            IndexModel([("type", ASCENDING), ("createdAt", DESCENDING)], name="by_type"),
            IndexModel([("createdAt", ASCENDING)], name="by_created"),
        ]
