"""Ledger reconciliation: clean when every balance is its entries' sum, and it catches a
balance changed behind the ledger's back."""

from __future__ import annotations

from typing import Any

import pytest

from clubpengu.services import reconciliation
from clubpengu.services.economy import EconomyService
from clubpengu.services.reconciliation import LedgerMismatch
from clubpengu.services.transaction_runner import Session
from tests.conftest import TEST_DB
from tests.services.conftest import Client, add_player

A = "VerifyA" + "a" * 37
B = "VerifyB" + "b" * 37


async def test_an_empty_database_is_consistent(economy: EconomyService) -> None:
    report = await economy.verify_ledger()

    assert report.ok and (report.users, report.transactions) == (0, 0)


async def test_balances_changed_only_through_the_ledger_are_consistent(
    economy: EconomyService,
) -> None:
    await add_player(economy, A, 100)
    await add_player(economy, B, 7)
    await add_player(economy, "Zero" + "z" * 40)
    await economy.apply(A, -30, "purchase", idempotency_key="p")
    await economy.transfer(A, B, 20, "wager", idempotency_key="t")

    report = await economy.verify_ledger()

    assert report.ok
    assert (report.users, report.transactions) == (3, 5)


async def test_a_balance_edited_behind_the_ledgers_back_is_reported(
    economy: EconomyService, mongo_client: Client
) -> None:
    await add_player(economy, A, 100)
    await add_player(economy, B, 50)
    await mongo_client[TEST_DB]["users"].update_one({"walletAddress": A}, {"$inc": {"coins": 1}})

    report = await economy.verify_ledger()

    assert not report.ok
    assert report.mismatches == [LedgerMismatch(A, 101, 100, 1)]
    assert report.mismatches[0].problem == "balance differs from the ledger"


async def test_a_negative_balance_is_reported_even_when_the_sum_matches(
    economy: EconomyService, mongo_client: Client
) -> None:
    await add_player(economy, A)
    database = mongo_client[TEST_DB]
    await database["users"].update_one({"walletAddress": A}, {"$set": {"coins": -5}})
    await database["transactions"].insert_one(
        {"walletAddress": A, "amount": -5, "idempotencyKey": "forged", "type": "x"}
    )

    report = await economy.verify_ledger()

    assert [m.problem for m in report.mismatches] == ["negative balance"]


async def test_entries_for_a_wallet_without_a_user_are_reported(
    economy: EconomyService, mongo_client: Client
) -> None:
    await add_player(economy, A, 10)
    await mongo_client[TEST_DB]["users"].delete_one({"walletAddress": A})

    report = await economy.verify_ledger()

    assert report.mismatches == [LedgerMismatch(A, None, 10, 1)]


async def test_a_change_committed_during_the_check_is_not_a_mismatch(
    economy: EconomyService, monkeypatch: pytest.MonkeyPatch
) -> None:
    await add_player(economy, A, 10)
    real_sums = reconciliation.ledger_sums

    async def sums_then_a_commit(
        transactions: Any, match: dict[str, Any] | None = None, session: Session | None = None
    ) -> dict[str, tuple[int, int]]:
        sums = await real_sums(transactions, match, session)
        if match is None:  # the bulk pass: a grant commits before the users are read
            await economy.apply(A, 5, "grant", idempotency_key="late")
        return sums

    monkeypatch.setattr(reconciliation, "ledger_sums", sums_then_a_commit)

    report = await economy.verify_ledger()

    assert report.ok


async def test_progress_is_reported_per_thousand_users_and_at_the_end(
    economy: EconomyService, mongo_client: Client
) -> None:
    users = [{"walletAddress": f"W{n:05d}", "username": "p", "coins": 0} for n in range(2500)]
    await mongo_client[TEST_DB]["users"].insert_many(users)
    seen: list[tuple[int, int]] = []

    report = await economy.verify_ledger(progress=lambda done, total: seen.append((done, total)))

    assert report.ok and report.users == 2500
    assert seen == [(1000, 2500), (2000, 2500), (2500, 2500)]
