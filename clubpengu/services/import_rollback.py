"""Undo one run of the bulk import (`clubpengu import-saves --rollback RUN`).

A run's players are those whose import audit entry carries its run id. Each is:

- removed, if they have not played since the import: never signed in (`lastLoginAt`
  unset; a sign-in sets it) and no ledger entry but the import's. In one transaction: a
  reversal entry (`import_rollback`, idempotency key `import_rollback:<run>:<wallet>`)
  takes their imported coins back through the ledger, then the user, their puffles and
  an audit entry (`import.rollback`). The removal is conditional on `lastLoginAt` still
  unset, so a player who signs in meanwhile is kept; the reversal leaves their entries
  netting to zero, which `ledger verify` accepts for a wallet with no user;
- kept and listed, with why, otherwise;
- already gone: an earlier rollback of the run removed them (so a rollback can be run
  again, after an interruption, and changes nothing it already changed).

A removed player's save can be brought again, imported or in game: each reversal opens a
new generation of the wallet's migration key (services/migration_keys.py), so the key
the first import took does not stand in the way.

Without `apply` nothing is written: the same report says what would be done.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from clubpengu.errors import Conflict, NotFound
from clubpengu.models import AuditLog, ImportRun, Puffle, Transaction, User
from clubpengu.models.base import utcnow
from clubpengu.services.economy import EconomyService
from clubpengu.services.ledger import LedgerEntry
from clubpengu.services.migration_keys import MIGRATION, ROLLBACK
from clubpengu.services.transaction_runner import Session

ROLLBACK_ACTION = "import.rollback"  # the audit entries' action
BATCH = 100
MAX_LISTED = 1000


@dataclass
class RollbackReport:
    run_id: str
    apply: bool
    players: int = 0
    removed: int = 0  # (or, without apply, would be)
    coins_reversed: int = 0
    already_removed: int = 0
    kept: int = 0
    kept_players: list[dict[str, str]] = field(default_factory=list)  # wallet, why

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def as_text(self) -> str:
        would = "" if self.apply else "would be "
        mode = "" if self.apply else " (dry run: nothing changed; --yes to apply)"
        rows = [
            ("players in the run", self.players),
            (f"{would}removed", self.removed),
            (f"coins {would}reversed", self.coins_reversed),
            ("already removed", self.already_removed),
            ("kept (played since)", self.kept),
        ]
        lines = [f"rollback of import run {self.run_id}{mode}"]
        lines += [f"  {label:<24} {value}" for label, value in rows]
        for kept in self.kept_players[:50]:
            lines.append(f"  KEPT {kept['wallet']}: {kept['why']}")
        if self.kept > 50:
            lines.append(f"  ... and {self.kept - 50} more kept (--report FILE lists them)")
        return "\n".join(lines)


Progress = Callable[[int], None]  # players dealt with so far


class ImportRollback:
    def __init__(
        self,
        economy: EconomyService,
        *,
        actor: str = "import",
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.economy = economy
        self.actor = actor
        self.clock = clock

    async def count(self, run_id: str) -> int:
        """How many players the run imported (raises NotFound for an unknown run)."""
        run = await ImportRun.get_pymongo_collection().find_one({"_id": run_id})
        if run is None:
            raise NotFound(f"no import run {run_id!r}", run=run_id)
        return await AuditLog.get_pymongo_collection().count_documents(_of_run(run_id))

    async def run(
        self, run_id: str, *, apply: bool, progress: Progress | None = None
    ) -> RollbackReport:
        report = RollbackReport(run_id, apply)
        await self.count(run_id)
        cursor = AuditLog.get_pymongo_collection().find(
            _of_run(run_id), {"walletAddress": 1, "_id": 0}
        )
        wallets = [doc["walletAddress"] async for doc in cursor]
        report.players = len(wallets)
        if apply:  # before any reversal: imports read it to look for new generations
            await ImportRun.get_pymongo_collection().update_one(
                {"_id": run_id, "rollbackBegunAt": None},
                {"$set": {"rollbackBegunAt": self.clock()}},
            )
        for batch in _batches(wallets):
            for wallet in batch:
                await self._one(run_id, wallet, report, apply)
            if progress is not None:
                progress(report.removed + report.kept + report.already_removed)
        if apply and report.removed:
            await ImportRun.get_pymongo_collection().update_one(
                {"_id": run_id},
                {"$set": {"rolledBackAt": self.clock()}, "$inc": {"rolledBack": report.removed}},
            )
        return report

    async def _one(self, run_id: str, wallet: str, report: RollbackReport, apply: bool) -> None:
        user = await User.get_pymongo_collection().find_one(
            {"walletAddress": wallet}, {"coins": 1, "lastLoginAt": 1}
        )
        if user is None:
            report.already_removed += 1
            return
        why = await self._played(wallet, user)
        if why is None and apply:
            try:
                coins = await self.economy.run_transaction(self._remove(run_id, wallet))
            except Conflict as conflict:
                why = str(conflict)
            else:
                report.removed += 1
                report.coins_reversed += coins
                return
        if why is not None:
            report.kept += 1
            if len(report.kept_players) < MAX_LISTED:
                report.kept_players.append({"wallet": wallet, "why": why})
            return
        report.removed += 1
        report.coins_reversed += int(user.get("coins", 0))

    async def _played(self, wallet: str, user: dict[str, Any]) -> str | None:
        """Why the player counts as having played since the import, or None."""
        if user.get("lastLoginAt") is not None:
            return f"signed in ({user['lastLoginAt']:%Y-%m-%d %H:%M} UTC)"
        entry = await Transaction.get_pymongo_collection().find_one(
            {"walletAddress": wallet, "type": {"$nin": [MIGRATION, ROLLBACK]}}, {"type": 1}
        )
        if entry is not None:
            return f"a ledger entry since ({entry['type']})"
        return None

    def _remove(self, run_id: str, wallet: str) -> Callable[[Session], Any]:
        async def writes(session: Session) -> int:
            users = User.get_pymongo_collection()
            user = await users.find_one(
                {"walletAddress": wallet, "lastLoginAt": None}, {"coins": 1}, session=session
            )
            other = await Transaction.get_pymongo_collection().find_one(
                {"walletAddress": wallet, "type": {"$nin": [MIGRATION, ROLLBACK]}},
                {"_id": 1},
                session=session,
            )
            if user is None or other is not None:
                raise Conflict("played meanwhile", wallet=wallet)
            coins = int(user.get("coins", 0))
            if coins:
                await self.economy.write_entry(
                    session,
                    LedgerEntry(
                        wallet, -coins, ROLLBACK, f"{ROLLBACK}:{run_id}:{wallet}",
                        actor=self.actor, reason=f"import run {run_id} rolled back",
                        proof={"runId": run_id},
                    ),
                )  # fmt: skip
            await users.delete_one({"walletAddress": wallet, "lastLoginAt": None}, session=session)
            await Puffle.get_pymongo_collection().delete_many(
                {"ownerWallet": wallet}, session=session
            )
            audit = AuditLog(
                action=ROLLBACK_ACTION, actor=self.actor, wallet_address=wallet,
                source="cli", at=self.clock(), details={"runId": run_id, "coins": coins},
            ).model_dump(by_alias=True, exclude={"id", "revision_id"})  # fmt: skip
            await AuditLog.get_pymongo_collection().insert_one(audit, session=session)
            return coins

        return writes


def _of_run(run_id: str) -> dict[str, Any]:
    return {"action": MIGRATION, "details.runId": run_id}


def _batches(items: list[str], size: int = BATCH) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
