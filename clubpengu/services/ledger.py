"""The ledger's pure rules, no I/O: what an entry is and how it is stored, which amounts
are valid, and the balance update that cannot go below zero. services/economy.py runs
them inside MongoDB transactions."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from clubpengu.errors import InvalidMessage

MAX_AMOUNT = 10**9
MAX_TEXT = 200
MAX_REASON = 500


@dataclass(frozen=True)
class LedgerResult:
    """The outcome of one entry: the wallet's balance after it, the signed change, the
    entry's id, and whether this is the stored result of an earlier identical request."""

    balance: int
    delta: int
    transaction_id: str
    replayed: bool = False


def check_amount(amount: object) -> int:
    """A ledger amount is a non-zero int (bool refused) of at most MAX_AMOUNT in size."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidMessage("amount must be an integer")
    if amount == 0:
        raise InvalidMessage("amount must not be zero")
    if abs(amount) > MAX_AMOUNT:
        raise InvalidMessage(f"amount must be between -{MAX_AMOUNT} and {MAX_AMOUNT}")
    return amount


def _check_text(name: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
        raise InvalidMessage(f"{name} must be a non-empty string of at most {MAX_TEXT} characters")
    return value


@dataclass(frozen=True)
class LedgerEntry:
    """One entry to write, validated on construction (raises InvalidMessage)."""

    wallet: str
    amount: int
    type: str
    idempotency_key: str
    actor: str = "system"
    reason: str | None = None
    proof: Mapping[str, Any] = field(default_factory=dict)
    counterparty: str | None = None
    transfer_id: str | None = None
    # More update operators for the balance update of the user (the daily bonus's day, so
    # the next join knows it without a query); not part of the stored entry.
    user_update: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_text("wallet", self.wallet)
        check_amount(self.amount)
        _check_text("type", self.type)
        _check_text("idempotency key", self.idempotency_key)
        _check_text("actor", self.actor)
        if self.reason is not None and (
            not isinstance(self.reason, str) or len(self.reason) > MAX_REASON
        ):
            raise InvalidMessage(f"reason must be a string of at most {MAX_REASON} characters")

    def document(self, balance_after: int, now: datetime) -> dict[str, Any]:
        """The stored `transactions` document (camelCase, as models/transaction.py)."""
        return {
            "walletAddress": self.wallet,
            "amount": self.amount,
            "balanceAfter": balance_after,
            "type": self.type,
            "reason": self.reason,
            "proof": dict(self.proof),
            "actor": self.actor,
            "idempotencyKey": self.idempotency_key,
            "counterpartyWallet": self.counterparty,
            "transferId": self.transfer_id,
            "createdAt": now,
        }

    def same_request(self, stored: Mapping[str, Any]) -> bool:
        """Whether a stored entry with this key is this very request, repeated: same
        wallet, amount, type and proof (a purchase's proof names the item)."""
        return (
            stored.get("walletAddress") == self.wallet
            and stored.get("amount") == self.amount
            and stored.get("type") == self.type
            and stored.get("proof", {}) == dict(self.proof)
        )


def balance_filter(wallet: str, amount: int) -> dict[str, Any]:
    """Match the wallet only if the change keeps its balance at zero or above."""
    if amount < 0:
        return {"walletAddress": wallet, "coins": {"$gte": -amount}}
    return {"walletAddress": wallet}


def balance_update(
    amount: int, now: datetime, more: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[str, Any]:
    """The user's update for a balance change, with `more` operators merged in."""
    counter = "stats.economy.totalCoinsEarned" if amount > 0 else "stats.economy.totalCoinsSpent"
    update: dict[str, Any] = {
        "$inc": {"coins": amount, counter: abs(amount)},
        "$set": {"updatedAt": now},
    }
    for operator, fields in (more or {}).items():
        update[operator] = {**update.get(operator, {}), **fields}
    return update


def is_idempotency_clash(error: DuplicateKeyError) -> bool:
    pattern = (error.details or {}).get("keyPattern")
    if isinstance(pattern, Mapping):
        return "idempotencyKey" in pattern
    return "idempotencyKey" in str(error)


def short_wallet(wallet: str) -> str:
    """Enough of a wallet address to follow it through the logs."""
    return wallet if len(wallet) <= 12 else f"{wallet[:4]}…{wallet[-4:]}"


_WALLET_LIKE = re.compile(r"[1-9A-HJ-NP-Za-km-z]{32,44}")


def short_actor(actor: str) -> str:
    """An actor (`admin:<wallet>`, `player:<wallet>`, `promo:CODE` ...) with any wallet
    in it shortened, for the logs."""
    return _WALLET_LIKE.sub(lambda match: short_wallet(match.group()), actor)
