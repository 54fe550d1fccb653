"""The coin ledger: the one place in the project where a balance changes.

Coins are a ledger (docs/economy.md#the-coin-ledger): every change of `users.coins`
writes one `transactions` entry (wallet, signed amount, type, reason, proof, actor,
balance after, idempotency key) in the same MongoDB multi-document transaction as the
balance update; the update is conditional, so a balance never goes below zero; the
unique index on `idempotencyKey` makes a repeated request change nothing and return the
first result; and `verify_ledger` checks that every user's entries add up to their
balance.

Callers that must change more than coins atomically (the shop unlocks the item it sells,
a promo code counts its redemption) pass `extra_writes`, an async callable run with the
transaction's session after the ledger writes; it may raise a `DomainError` to abort.
The conditional balance update goes first because a refused debit writes nothing: when
many requests race for one wallet, those that cannot be paid fail at once instead of
taking part in write conflicts.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from pymongo import AsyncMongoClient
from pymongo.errors import DuplicateKeyError, PyMongoError

from clubpengu.db import journal_barrier
from clubpengu.errors import (
    Conflict,
    DomainError,
    InsufficientFunds,
    InvalidMessage,
    NotFound,
    Unavailable,
)
from clubpengu.metrics import Metrics
from clubpengu.models import Transaction, User
from clubpengu.models.base import utcnow
from clubpengu.services import reconciliation
from clubpengu.services.economy_log import log_economy
from clubpengu.services.ledger import (
    LedgerEntry,
    LedgerResult,
    balance_filter,
    balance_update,
    check_amount,
    is_idempotency_clash,
    short_wallet,
)
from clubpengu.services.notices import CoinsChanged, Notify
from clubpengu.services.reconciliation import LedgerReport, Progress
from clubpengu.services.transaction_runner import (
    RetryPolicy,
    Session,
    TransactionCallback,
    TransactionRunner,
    found_no_server,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")
DEFAULT_DAILY_BONUS_COINS = 25
USERS = User.Settings.name
TRANSACTIONS = Transaction.Settings.name

ExtraWrites = Callable[[Session], Awaitable[None]]
# The ledger entries written by the current attempt of a transaction (`_run`), counted in
# the metrics only once it has committed.
_WRITTEN: ContextVar[list[LedgerEntry] | None] = ContextVar("ledger_written", default=None)


@dataclass(frozen=True)
class TransferResult:
    transfer_id: str
    amount: int
    from_balance: int
    to_balance: int
    debit_id: str
    credit_id: str
    replayed: bool = False


class EconomyService:
    """Applies and verifies coin changes; see the module docstring for the invariants.

    `notify(wallet, notice)` is called after each commit (never for a replayed key) with
    a `CoinsChanged` for that wallet; an exception from it is logged, not raised, since
    the change is already durable.
    """

    def __init__(
        self,
        client: AsyncMongoClient[dict[str, Any]],
        db_name: str,
        *,
        clock: Callable[[], datetime] = utcnow,
        notify: Notify | None = None,
        daily_bonus_coins: int = DEFAULT_DAILY_BONUS_COINS,
        retry: RetryPolicy | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        database = client[db_name]
        self.metrics = metrics or Metrics()
        self.users = database[USERS]
        self.transactions = database[TRANSACTIONS]
        self.runner = TransactionRunner(client, retry, journal=journal_barrier(client, db_name))
        self.clock = clock
        self.notify = notify
        # 0 turns the bonus off (DAILY_BONUS_COINS=0); anything else must be a valid amount.
        self.daily_bonus_coins = daily_bonus_coins and check_amount(daily_bonus_coins)

    async def apply(
        self,
        wallet: str,
        amount: int,
        type: str,
        *,
        idempotency_key: str,
        actor: str = "system",
        reason: str | None = None,
        proof: Mapping[str, Any] | None = None,
        extra_writes: ExtraWrites | None = None,
        log_fields: Mapping[str, Any] | None = None,
        user_update: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> LedgerResult:
        """Change `wallet`'s balance by `amount` and record it, in one transaction; log the
        `economy` line (`log_economy`, with `log_fields` added) once it has committed.

        Raises InvalidMessage (bad amount or text), NotFound (no such wallet),
        InsufficientFunds (balance would go negative; data: balance, needed), Conflict
        (the key was used for a different change), Unavailable (retries exhausted), or
        whatever `extra_writes` raises; in every case nothing changed. `user_update`: more
        update operators for the user's balance update (`LedgerEntry.user_update`).
        """
        entry = LedgerEntry(
            wallet, amount, type, idempotency_key, actor, reason, dict(proof or {}),
            user_update=dict(user_update or {}),
        )  # fmt: skip
        [result] = await self._commit_entries([entry], extra_writes, log_fields or {})
        return result

    async def transfer(
        self,
        from_wallet: str,
        to_wallet: str,
        amount: int,
        type: str,
        *,
        idempotency_key: str,
        actor: str = "system",
        reason: str | None = None,
        proof: Mapping[str, Any] | None = None,
    ) -> TransferResult:
        """Move `amount` (> 0) coins between two wallets: two entries, keys `<key>:debit`
        and `<key>:credit`, one `transferId`, each naming the other wallet, one transaction.

        Raises as `apply` does, for either wallet; InvalidMessage for a transfer to self.
        """
        if check_amount(amount) < 0:
            raise InvalidMessage("a transfer amount must be positive")
        if from_wallet == to_wallet:
            raise InvalidMessage("a transfer needs two different wallets")
        transfer_id = uuid.uuid4().hex
        common: dict[str, Any] = {"actor": actor, "reason": reason, "proof": dict(proof or {})}
        debit = LedgerEntry(
            from_wallet, -amount, type, f"{idempotency_key}:debit",
            counterparty=to_wallet, transfer_id=transfer_id, **common,
        )  # fmt: skip
        credit = LedgerEntry(
            to_wallet, amount, type, f"{idempotency_key}:credit",
            counterparty=from_wallet, transfer_id=transfer_id, **common,
        )  # fmt: skip
        out, into = await self._commit_entries([debit, credit], None, {"transfer": transfer_id})
        stored_id = transfer_id
        if out.replayed:
            stored = await self.transactions.find_one({"idempotencyKey": debit.idempotency_key})
            stored_id = (stored or {}).get("transferId") or transfer_id
        return TransferResult(
            stored_id, amount, out.balance, into.balance,
            out.transaction_id, into.transaction_id, out.replayed,
        )  # fmt: skip

    async def daily_bonus(
        self, wallet: str, today: date | None = None, *, unpaid: bool = False
    ) -> LedgerResult:
        """Credit the daily login bonus once per wallet and UTC day (key
        `daily:<wallet>:<YYYY-MM-DD>`); a second claim returns the first (replayed=True),
        even if the configured amount changed in between. The same balance update keeps
        the latest day paid on the user (`dailyBonusOn`), so a join can tell without a
        query. `unpaid`: the caller knows today's is not paid (the user's `dailyBonusOn`
        names another day, or the sign-in has just created the user), so the key is not
        looked up first; should it be paid after all, its unique index refuses the second
        and the first is returned all the same. Raises NotFound."""
        day = (today or self.clock().date()).isoformat()
        key = f"daily:{wallet}:{day}"
        if not unpaid:
            stored = await self.transactions.find_one({"idempotencyKey": key})
            if stored is not None:
                return _stored_result(stored)
        return await self.apply(
            wallet, self.daily_bonus_coins, "daily_bonus",
            idempotency_key=key, reason=f"daily login bonus {day}", proof={"day": day},
            user_update={"$max": {"dailyBonusOn": day}},  # an earlier day paid late: kept
        )  # fmt: skip

    async def replay(
        self,
        wallet: str,
        amount: int,
        type: str,
        *,
        idempotency_key: str,
        proof: Mapping[str, Any] | None = None,
    ) -> LedgerResult | None:
        """The stored result if this exact change was already applied under this key, None
        if the key is unused. Raises Conflict if the key was used for another change."""
        entry = LedgerEntry(wallet, amount, type, idempotency_key, proof=dict(proof or {}))
        replayed = await self._replay([entry])
        return replayed[0] if replayed else None

    async def balance(self, wallet: str) -> int:
        """The wallet's balance. Raises NotFound."""
        user = await self.users.find_one({"walletAddress": wallet}, {"coins": 1})
        if user is None:
            raise NotFound("No player has that wallet")
        return int(user.get("coins", 0))

    async def run_transaction(self, callback: TransactionCallback[T]) -> T:
        """Run `callback(session)` in a retried transaction (services/transaction_runner.py):
        changes that must be atomic, with or without ledger entries (`write_entry`)."""
        try:
            return await self._run(callback)
        except DomainError as error:
            self.metrics.economy_error(str(error.code))
            raise

    async def _run(self, callback: TransactionCallback[T]) -> T:
        """`runner.run`, and then, once committed, the coins of the ledger entries written
        by the attempt that committed go to the metrics (never a refused, aborted or
        retried attempt's)."""
        written: list[LedgerEntry] = []

        async def attempt(session: Session) -> T:
            written.clear()
            token = _WRITTEN.set(written)
            try:
                return await callback(session)
            finally:
                _WRITTEN.reset(token)

        result = await self.runner.run(attempt)
        for entry in written:
            self.metrics.coins(entry.type, entry.amount)
        return result

    async def write_entry(self, session: Session, entry: LedgerEntry) -> LedgerResult:
        """The two ledger writes, inside the caller's transaction: the conditional balance
        update, then the entry with the balance after it. Raises NotFound or
        InsufficientFunds; a DuplicateKeyError on the entry means the key is taken."""
        now = self.clock()
        # An update and a read, not one find_one_and_update: SecantusDB runs that one's
        # write as a scan of every user (docs/secantusdb-retryable-writes.md), 20 ms at
        # 3,000 users. In the transaction's snapshot the read sees the update.
        changed = await self.users.update_one(
            balance_filter(entry.wallet, entry.amount),
            balance_update(entry.amount, now, entry.user_update),
            session=session,
        )
        if changed.matched_count == 0:
            await self._refuse(session, entry)
        user = await self.users.find_one(
            {"walletAddress": entry.wallet}, {"coins": 1}, session=session
        )
        assert user is not None
        balance = int(user["coins"])
        inserted = await self.transactions.insert_one(entry.document(balance, now), session=session)
        written = _WRITTEN.get()
        if written is not None:
            written.append(entry)
        return LedgerResult(balance, entry.amount, str(inserted.inserted_id))

    async def verify_ledger(self, progress: Progress | None = None) -> LedgerReport:
        """Check every user: entries sum to the balance, balance ≥ 0 (and no entries for a
        wallet without a user). See services/reconciliation.py."""
        report = await reconciliation.verify_ledger(
            self.users, self.transactions, self.runner, progress
        )
        self.metrics.ledger_verified(len(report.mismatches))
        return report

    async def _commit_entries(
        self,
        entries: Sequence[LedgerEntry],
        extra_writes: ExtraWrites | None,
        log_fields: Mapping[str, Any],
    ) -> list[LedgerResult]:
        """Write the entries in one transaction. No lookup of the keys first: replays are
        rare (a client retrying), and the unique index refuses them inside the transaction
        anyway, which then aborts; that saves a round trip on every fresh change."""

        async def writes(session: Session) -> list[LedgerResult]:
            results = [await self.write_entry(session, entry) for entry in entries]
            if extra_writes is not None:
                await extra_writes(session)
            return results

        try:
            results = await self._run(writes)
        except DuplicateKeyError as error:
            if not is_idempotency_clash(error):
                raise
            # A concurrent request with the same key committed first: return its result.
            replayed = await self._replay(entries)
            if replayed is None:
                raise
            return replayed
        except DomainError as error:
            # The same request may have committed between our check and our transaction
            # (it spent the coins, or unlocked the item), or our own commit may have
            # applied although its result was lost; then the stored result is the answer.
            replayed = await self._replay_after(error, entries)
            if replayed is not None:
                return replayed
            self.metrics.economy_error(str(error.code))
            raise
        log_economy(list(zip(entries, results, strict=True)), **log_fields)
        for entry, result in zip(entries, results, strict=True):
            self._announce(entry, result)
        return results

    async def _replay_after(
        self, error: DomainError, entries: Sequence[LedgerEntry]
    ) -> list[LedgerResult] | None:
        """`_replay` after a failed transaction. When the database could not be reached
        (`Unavailable`) it is asked only if it was reachable at the end, and a failure to
        answer leaves the caller's `Unavailable` as it was (a driver error here would
        replace it, after another server-selection wait)."""
        if not isinstance(error, Unavailable):
            return await self._replay(entries)
        if found_no_server(error.__cause__):
            return None  # nothing to ask; the client retries with the same key
        try:
            return await self._replay(entries)
        except PyMongoError:
            return None

    async def _replay(self, entries: Sequence[LedgerEntry]) -> list[LedgerResult] | None:
        """The stored results when these keys were already applied, None when they were
        not. Raises Conflict when a key was used for a different change."""
        keys = [entry.idempotency_key for entry in entries]
        cursor = self.transactions.find({"idempotencyKey": {"$in": keys}})
        stored = {doc["idempotencyKey"]: doc for doc in await cursor.to_list()}
        if not stored:
            return None
        results = []
        for entry in entries:
            doc = stored.get(entry.idempotency_key)
            if doc is None or not entry.same_request(doc):
                raise Conflict(
                    "This idempotency key was already used for a different change",
                    idempotency_key=entry.idempotency_key,
                )
            results.append(_stored_result(doc))
        return results

    async def _refuse(self, session: Session, entry: LedgerEntry) -> None:
        user = await self.users.find_one(
            {"walletAddress": entry.wallet}, {"coins": 1}, session=session
        )
        if user is None:
            raise NotFound("No player has that wallet", wallet=entry.wallet)
        balance = int(user.get("coins", 0))
        raise InsufficientFunds(
            f"Not enough coins: this needs {-entry.amount} and the balance is {balance}",
            balance=balance,
            needed=-entry.amount,
        )

    def _announce(self, entry: LedgerEntry, result: LedgerResult) -> None:
        if self.notify is None:
            return
        try:
            self.notify(entry.wallet, CoinsChanged(result.balance, result.delta, entry.type))
        except Exception:
            logger.exception(
                "coins notification failed", extra={"wallet": short_wallet(entry.wallet)}
            )


def _stored_result(doc: Mapping[str, Any]) -> LedgerResult:
    return LedgerResult(int(doc["balanceAfter"]), int(doc["amount"]), str(doc["_id"]), True)
