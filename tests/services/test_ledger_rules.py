"""The ledger's pure rules and the retry policy, without a database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pymongo.errors import DuplicateKeyError

from clubpengu.errors import InvalidMessage
from clubpengu.services.ledger import (
    LedgerEntry,
    balance_filter,
    balance_update,
    is_idempotency_clash,
)
from clubpengu.services.transaction_runner import RetryPolicy

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_a_debit_matches_only_a_balance_that_covers_it() -> None:
    assert balance_filter("W", -30) == {"walletAddress": "W", "coins": {"$gte": 30}}
    assert balance_filter("W", 30) == {"walletAddress": "W"}


def test_credits_count_as_earned_and_debits_as_spent() -> None:
    assert balance_update(5, NOW)["$inc"] == {"coins": 5, "stats.economy.totalCoinsEarned": 5}
    assert balance_update(-5, NOW)["$inc"] == {"coins": -5, "stats.economy.totalCoinsSpent": 5}


def test_a_repeat_is_the_same_wallet_amount_type_and_proof() -> None:
    entry = LedgerEntry("W", -5, "purchase", "k", proof={"itemId": "hat"})
    stored = entry.document(10, NOW)

    assert entry.same_request(stored)
    assert not LedgerEntry("W", -5, "purchase", "k", proof={"itemId": "cap"}).same_request(stored)
    assert not LedgerEntry("W", -6, "purchase", "k", proof={"itemId": "hat"}).same_request(stored)


@pytest.mark.parametrize("field", ["wallet", "type", "idempotency_key", "actor"])
def test_an_entry_needs_its_texts(field: str) -> None:
    values = {"wallet": "W", "amount": 5, "type": "grant", "idempotency_key": "k", "actor": "a"}
    values[field] = " "

    with pytest.raises(InvalidMessage):
        LedgerEntry(**values)  # type: ignore[arg-type]


def test_only_a_clash_on_the_idempotency_key_counts_as_a_replay() -> None:
    ledger = DuplicateKeyError("dup", 11000, {"keyPattern": {"idempotencyKey": 1}})
    other = DuplicateKeyError("dup", 11000, {"keyPattern": {"code": 1, "walletAddress": 1}})

    assert is_idempotency_clash(ledger) and not is_idempotency_clash(other)


def test_backoff_grows_to_a_ceiling_and_is_jittered() -> None:
    policy = RetryPolicy(backoff_initial=0.002, backoff_max=0.1)

    assert [policy.backoff(n, rng=lambda: 1.0) for n in (1, 2, 3)] == [0.002, 0.004, 0.008]
    assert policy.backoff(30, rng=lambda: 1.0) == 0.1
    assert policy.backoff(30, rng=lambda: 0.25) == 0.025
