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

    Indexes, each paid by every coin change: the unique key; `by_wallet` (a wallet's
    entries, newest first; also serves lookups by wallet alone, so there is no separate
    wallet index); `by_created` (the report's date range). The report's purchases walk
    the same `by_created` range as its coin flow; a (type, createdAt) index would save
    that one query a filter but cost every ledger write an index entry.
    """

    model_config = CAMEL

    wallet_address: str
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
            IndexModel([("createdAt", ASCENDING)], name="by_created"),
        ]
