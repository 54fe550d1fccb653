"""Bulk import of exported localStorage saves (JSON Lines `{walletAddress, localData}`).

Streams the file (memory does not grow with it), validates each save with the same
MigrationPlanner as the in-game migration, and writes each batch in ONE MongoDB
transaction: the users, their `migration` ledger entries, their puffles and one AuditLog
per save. A batch is all-or-nothing, and wallets already in the database are skipped, so
a run killed half-way and started again imports every valid save exactly once.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pymongo.errors import DuplicateKeyError

from clubpengu.models import AuditLog, Puffle, Transaction, User
from clubpengu.models.base import utcnow
from clubpengu.services.auth import decode_wallet
from clubpengu.services.economy import EconomyService
from clubpengu.services.migration import (
    MIGRATION,
    SOURCE,
    audit_document,
    migration_key,
    puffle_documents,
    user_changes,
)
from clubpengu.services.migration_plan import MigrationPlan, MigrationPlanner
from clubpengu.services.transaction_runner import Session

logger = logging.getLogger(__name__)
MAX_LINE = 1 << 20
MAX_INVALID_LISTED = 1000


@dataclass
class ImportReport:
    read: int = 0
    imported: int = 0
    skipped_existing: int = 0
    invalid: int = 0
    coins_imported: int = 0
    items_dropped: int = 0
    verified: int = 0
    verification_failures: list[str] = field(default_factory=list)
    invalid_lines: list[dict[str, Any]] = field(default_factory=list)
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def as_text(self) -> str:
        mode = " (dry run: nothing written)" if self.dry_run else ""
        lines = [
            f"import report{mode}",
            f"  read               {self.read}",
            f"  imported           {self.imported}",
            f"  skipped (existing) {self.skipped_existing}",
            f"  invalid            {self.invalid}",
            f"  coins imported     {self.coins_imported}",
            f"  fields dropped     {self.items_dropped}",
            f"  verified           {self.verified}",
        ]
        for failure in self.verification_failures[:20]:
            lines.append(f"  VERIFY FAILED      {failure}")
        for bad in self.invalid_lines[:20]:
            lines.append(f"  invalid line {bad['line']}: {bad['reason']}")
        return "\n".join(lines)


@dataclass(frozen=True)
class Save:
    line: int
    wallet: str
    plan: MigrationPlan


def read_saves(path: Path, planner: MigrationPlanner, report: ImportReport) -> Iterator[Save]:
    """Valid saves, one at a time; invalid lines are counted in `report`."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, 1):
            if not raw.strip():
                continue
            report.read += 1
            problem, save = _parse(number, raw, planner)
            if problem is not None:
                report.invalid += 1
                if len(report.invalid_lines) < MAX_INVALID_LISTED:
                    report.invalid_lines.append({"line": number, "reason": problem})
            elif save is not None:
                yield save


def _parse(number: int, raw: bytes, planner: MigrationPlanner) -> tuple[str | None, Save | None]:
    if len(raw) > MAX_LINE:
        return "line longer than 1 MiB", None
    try:
        record = json.loads(raw)
    except ValueError:
        return "not JSON", None
    if not isinstance(record, dict):
        return "not a JSON object", None
    wallet = record.get("walletAddress")
    if decode_wallet(wallet) is None:
        return "walletAddress is not a Solana wallet address", None
    local = record.get("localData")
    if not isinstance(local, dict):
        return "localData is not an object", None
    return None, Save(number, str(wallet), planner.plan(local))


class BulkImporter:
    def __init__(
        self,
        economy: EconomyService,
        planner: MigrationPlanner,
        *,
        batch_size: int = 500,
        actor: str = "import",
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.economy = economy
        self.planner = planner
        self.batch_size = batch_size
        self.actor = actor
        self.clock = clock

    async def run(
        self,
        path: Path,
        *,
        dry_run: bool = False,
        progress: Callable[[ImportReport], None] | None = None,
    ) -> ImportReport:
        report = ImportReport(dry_run=dry_run)
        batch: list[Save] = []
        for save in read_saves(path, self.planner, report):
            batch.append(save)
            if len(batch) >= self.batch_size:
                await self._batch(batch, report, dry_run)
                batch = []
                if progress:
                    progress(report)
        if batch:
            await self._batch(batch, report, dry_run)
        if progress:
            progress(report)
        return report

    async def _batch(self, batch: list[Save], report: ImportReport, dry_run: bool) -> None:
        unique: dict[str, Save] = {}
        for save in batch:
            unique.setdefault(save.wallet, save)  # the first save of a wallet wins
        report.skipped_existing += len(batch) - len(unique)
        existing = await self._existing(list(unique))
        fresh = [save for wallet, save in unique.items() if wallet not in existing]
        report.skipped_existing += len(unique) - len(fresh)
        if not fresh:
            return
        if not dry_run:
            try:
                await self.economy.run_transaction(self._writes(fresh))
            except DuplicateKeyError:
                # Someone signed in (or another import ran) between the check and the
                # write: the batch was rolled back; redo it without them.
                await self._batch(fresh, report, dry_run)
                return
            await self._verify(fresh, report)
        report.imported += len(fresh)
        report.coins_imported += sum(save.plan.coins for save in fresh)
        report.items_dropped += sum(len(save.plan.dropped) for save in fresh)

    async def _existing(self, wallets: list[str]) -> set[str]:
        cursor = User.get_pymongo_collection().find(
            {"walletAddress": {"$in": wallets}}, {"walletAddress": 1, "_id": 0}
        )
        return {doc["walletAddress"] async for doc in cursor}

    def _writes(self, saves: list[Save]) -> Callable[[Session], Any]:
        now = self.clock()
        users, entries, puffles, audits = [], [], [], []
        for save in saves:
            user = User(
                wallet_address=save.wallet,
                username=save.plan.username or f"Penguin{secrets.randbelow(10_000):04d}",
                coins=save.plan.coins,
                created_at=now,
            ).model_dump(by_alias=True, exclude={"id", "revision_id"})
            user |= user_changes(save.plan, dict(user["customization"]), now)
            if save.plan.coins:
                user["stats"]["economy"]["totalCoinsEarned"] = save.plan.coins
                entries.append(self._entry(save, now))
            users.append(user)
            puffles += puffle_documents(save.wallet, save.plan, now)
            audits.append(audit_document(save.wallet, save.plan, self.actor, "bulk_import", now))

        async def writes(session: Session) -> None:
            await User.get_pymongo_collection().insert_many(users, session=session)
            if entries:
                await Transaction.get_pymongo_collection().insert_many(entries, session=session)
            if puffles:
                await Puffle.get_pymongo_collection().insert_many(puffles, session=session)
            await AuditLog.get_pymongo_collection().insert_many(audits, session=session)

        return writes

    def _entry(self, save: Save, now: datetime) -> dict[str, Any]:
        entry: dict[str, Any] = Transaction(
            wallet_address=save.wallet,
            amount=save.plan.coins,
            balance_after=save.plan.coins,
            type=MIGRATION,
            reason="coins from a localStorage save (bulk import)",
            proof={"source": SOURCE, "line": save.line},
            actor=self.actor,
            idempotency_key=migration_key(save.wallet),
            created_at=now,
        ).model_dump(by_alias=True, exclude={"id", "revision_id"})
        return entry

    async def _verify(self, saves: list[Save], report: ImportReport) -> None:
        """Re-read what the batch wrote: each user with the planned coins and marker."""
        expected = {save.wallet: save.plan.coins for save in saves}
        cursor = User.get_pymongo_collection().find(
            {"walletAddress": {"$in": list(expected)}},
            {"walletAddress": 1, "coins": 1, "migrationSource": 1, "_id": 0},
        )
        seen = set()
        async for doc in cursor:
            seen.add(doc["walletAddress"])
            ok = doc.get("coins") == expected[doc["walletAddress"]] and doc.get("migrationSource")
            if ok:
                report.verified += 1
            else:
                report.verification_failures.append(doc["walletAddress"])
        report.verification_failures += [w for w in expected if w not in seen]
