"""Ledger reconciliation: for every user, the sum of their ledger entries equals their
balance, and no balance is negative (docs/economy.md#the-coin-ledger).

One `$group` aggregation sums the entries per wallet (held in memory: one small tuple per
wallet that has entries), then the users are streamed and compared. The two reads are not
one snapshot, so a change committed while the check runs can look like a mismatch; every
candidate is therefore checked again inside a transaction, which reads the user and their
entries at one point in time, and only confirmed mismatches are reported.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from clubpengu.services.data_registry import TOMBSTONE_PREFIX
from clubpengu.services.transaction_runner import Session, TransactionRunner

Progress = Callable[[int, int], None]  # (users checked, users in total), every PROGRESS_EVERY
PROGRESS_EVERY = 1000
Collection = AsyncCollection[dict[str, Any]]


@dataclass(frozen=True)
class LedgerMismatch:
    """A wallet whose balance is negative or differs from the sum of its entries.
    `balance` is None when entries that do not net to zero exist for a wallet that has
    no user document (a removed player's reversed entries net to zero)."""

    wallet: str
    balance: int | None
    ledger_sum: int
    entries: int

    @property
    def problem(self) -> str:
        if self.balance is None and self.wallet.startswith(TOMBSTONE_PREFIX):
            return "an erased wallet's entries do not sum to zero"
        if self.balance is None:
            return "ledger entries for a wallet with no user"
        if self.balance < 0:
            return "negative balance"
        return "balance differs from the ledger"


@dataclass
class LedgerReport:
    users: int = 0
    transactions: int = 0
    mismatches: list[LedgerMismatch] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.mismatches


async def ledger_sums(
    transactions: Collection, match: dict[str, Any] | None = None, session: Session | None = None
) -> dict[str, tuple[int, int]]:
    """{wallet: (sum of amounts, number of entries)} for the entries matching `match`."""
    pipeline: list[dict[str, Any]] = [
        {"$match": match or {}},
        {"$group": {"_id": "$walletAddress", "sum": {"$sum": "$amount"}, "n": {"$sum": 1}}},
    ]
    cursor = await transactions.aggregate(pipeline, session=session, allowDiskUse=True)
    return {doc["_id"]: (int(doc["sum"]), int(doc["n"])) async for doc in cursor}


async def verify_ledger(
    users: Collection,
    transactions: Collection,
    runner: TransactionRunner,
    progress: Progress | None = None,
) -> LedgerReport:
    started = time.monotonic()
    sums = await ledger_sums(transactions)
    report = LedgerReport(transactions=sum(n for _, n in sums.values()))
    total = await users.estimated_document_count()
    candidates: list[str] = []
    async for user in users.find({}, {"walletAddress": 1, "coins": 1, "_id": 0}, batch_size=1000):
        wallet = user["walletAddress"]
        coins = user.get("coins", 0)
        ledger, _ = sums.pop(wallet, (0, 0))
        if coins != ledger or coins < 0:
            candidates.append(wallet)
        report.users += 1
        if progress is not None and report.users % PROGRESS_EVERY == 0:
            progress(report.users, max(total, report.users))
    if progress is not None:
        progress(report.users, report.users)
    # Entries whose wallet has no user: a mismatch unless they net to zero (an erased
    # wallet's, kept under its tombstone, services/erasure.py; a player removed with their
    # coins reversed, as an import's rollback does).
    candidates.extend(wallet for wallet, (total_sum, _) in sums.items() if total_sum != 0)
    for wallet in candidates:
        mismatch = await runner.run(_recheck(users, transactions, wallet))
        if mismatch is not None:
            report.mismatches.append(mismatch)
    report.seconds = time.monotonic() - started
    return report


def _recheck(
    users: Collection, transactions: Collection, wallet: str
) -> Callable[[Session], Awaitable[LedgerMismatch | None]]:
    """Compare one wallet's balance and entries at one point in time (in a transaction)."""

    async def check(session: Session) -> LedgerMismatch | None:
        return await _compare(users, transactions, wallet, session)

    return check


async def _compare(
    users: Collection, transactions: Collection, wallet: str, session: Session
) -> LedgerMismatch | None:
    user = await users.find_one({"walletAddress": wallet}, {"coins": 1}, session=session)
    ledger, entries = (await ledger_sums(transactions, {"walletAddress": wallet}, session)).get(
        wallet, (0, 0)
    )
    if user is None:
        return LedgerMismatch(wallet, None, ledger, entries) if ledger else None
    coins = user.get("coins", 0)
    if coins == ledger and coins >= 0:
        return None
    return LedgerMismatch(wallet, coins, ledger, entries)
