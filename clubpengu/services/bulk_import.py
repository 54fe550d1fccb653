"""Bulk import of exported localStorage saves (JSON Lines `{walletAddress, localData}`).

Streams the file (memory does not grow with it), validates each save with the same
MigrationPlanner as the in-game migration, and writes each batch in ONE MongoDB
transaction: the users, their `migration` ledger entries, their puffles and one AuditLog
per save. A batch is all-or-nothing, and wallets already in the database are skipped, so
a run killed half-way and started again imports every valid save exactly once.

The exports are the operator's and trusted, so nothing is held for review as in game;
but items the catalogue does not sell (`crown` …) are counted in the report, by item,
with the first lines that granted them, for the operator to check.

Where the time goes (py-spy on the importer and on the SecantusDB process;
docs/performance.md#bulk-import): the database does nearly all of the work, and most of it is index
maintenance. SecantusDB spends about 0.035 ms per document per secondary index (0.09 ms
for a unique one: probe and claim), against 0.06 ms for the document itself, so a save's
three documents cost it about 0.6 ms whatever the batch size, transaction or ordering.
Hence the shape of this module:

- The reader (parsing, planning and building the documents) runs as a task that fills a
  one-batch queue while the single writer stores the previous batch, yielding to the
  event loop every few saves so that the writer's replies are handled promptly: the
  importer's own CPU time overlaps the database's instead of adding to it.
- `$in` lists are sent in chunks of IN_CHUNK wallets: SecantusDB checks each candidate
  document against the whole list, so one query's cost grows with the list's square.
- Only one batch is written at a time: the database is bound to one core, so more in
  flight only adds contention, and the existence check of a batch must see the batch
  before it committed (a wallet twice in the file is imported once).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from pymongo.errors import BulkWriteError, DuplicateKeyError

from clubpengu.models import AuditLog, ImportRun, Puffle, Transaction, User
from clubpengu.models.base import utcnow
from clubpengu.services.auth import decode_wallet
from clubpengu.services.economy import EconomyService
from clubpengu.services.migration import SOURCE, audit_document, puffle_documents, user_changes
from clubpengu.services.migration_keys import MIGRATION, generations, key_wallet, migration_key
from clubpengu.services.migration_plan import MigrationPlan, MigrationPlanner
from clubpengu.services.names import default_username, lower
from clubpengu.services.transaction_runner import Session
from clubpengu.services.usernames import free_usernames, is_username_clash

logger = logging.getLogger(__name__)
MAX_LINE = 1 << 20
MAX_INVALID_LISTED = 1000
IN_CHUNK = 50
YIELD_EVERY = 4
_DUPLICATE_KEY = 11000
BULK_IMPORT = "bulk_import"  # the audit entries' source
T = TypeVar("T")


@dataclass
class ImportReport:
    read: int = 0
    bytes_read: int = 0
    imported: int = 0
    skipped_existing: int = 0
    invalid: int = 0
    coins_imported: int = 0
    items_dropped: int = 0
    verified: int = 0
    verification_failures: list[str] = field(default_factory=list)
    invalid_lines: list[dict[str, Any]] = field(default_factory=list)
    saves_with_exclusives: int = 0
    exclusives: dict[str, int] = field(default_factory=dict)
    exclusive_lines: list[dict[str, Any]] = field(default_factory=list)
    renamed: int = 0  # saves whose name another player had: given a number
    renamed_names: list[dict[str, Any]] = field(default_factory=list)
    dropped_fields: dict[str, int] = field(default_factory=dict)  # field -> times dropped
    dry_run: bool = False
    run_id: str | None = None  # None for a dry run, which writes nothing

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def done(self) -> int:
        """Saves dealt with so far: imported (or would be), skipped or invalid."""
        return self.imported + self.skipped_existing + self.invalid

    def as_text(self) -> str:
        """The report for the operator; a dry run says what it would have done."""
        dry = self.dry_run
        rows = [
            ("read", self.read),
            ("would import" if dry else "imported", self.imported),
            ("skipped (existing)", self.skipped_existing),
            ("invalid", self.invalid),
            ("coins would import" if dry else "coins imported", self.coins_imported),
            ("fields dropped", self.items_dropped),
            *([] if dry else [("verified", self.verified)]),
            ("with exclusives", self.saves_with_exclusives),
            ("would rename" if dry else "renamed (taken)", self.renamed),
        ]
        mode = " (dry run: nothing written)" if dry else ""
        lines = [f"import report{mode}"] + [f"  {label:<18} {value}" for label, value in rows]
        for field_name, times in sorted(
            self.dropped_fields.items(), key=lambda kv: (-kv[1], kv[0])
        ):
            lines.append(f"  DROPPED            {field_name}: {times}")
        for item, count in sorted(self.exclusives.items()):
            lines.append(f"  EXCLUSIVE          {item}: {count} saves")
        for granted in self.exclusive_lines[:20]:
            lines.append(f"  exclusive line {granted['line']}: {', '.join(granted['items'])}")
        for failure in self.verification_failures[:20]:
            lines.append(f"  VERIFY FAILED      {failure}")
        for bad in self.invalid_lines[:20]:
            lines.append(f"  invalid line {bad['line']}: {bad['reason']}")
        for name in self.renamed_names[:20]:
            lines.append(f"  renamed line {name['line']}: {name['wished']} -> {name['given']}")
        if self.run_id is not None:
            lines.append(f"  run id             {self.run_id}")
        return "\n".join(lines)


@dataclass(frozen=True)
class Save:
    line: int
    wallet: str
    plan: MigrationPlan
    exclusives: tuple[str, ...] = ()


@dataclass(frozen=True)
class Prepared:
    """A valid save and the documents it writes (built by the reader, ahead of the writer)."""

    save: Save
    user: dict[str, Any]
    entry: dict[str, Any] | None
    puffles: list[dict[str, Any]]
    audit: dict[str, Any]

    @property
    def wallet(self) -> str:
        return self.save.wallet


def read_saves(path: Path, planner: MigrationPlanner, report: ImportReport) -> Iterator[Save]:
    """Valid saves, one at a time; invalid lines are counted in `report`."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, 1):
            report.bytes_read += len(raw)
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
    plan = planner.plan(local)
    return None, Save(number, str(wallet), plan, tuple(planner.exclusives(plan)))


def _chunks(items: Sequence[T], size: int = IN_CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def clashing_wallet(error: BulkWriteError | DuplicateKeyError) -> str | None:
    """The wallet whose user or migration entry made a batch's insert fail, if the
    server said (`keyValue`, MongoDB 4.4+ and SecantusDB)."""
    details = error.details or {}
    errors = details.get("writeErrors") or [details]
    first = errors[0] if errors else {}
    if first.get("code") != _DUPLICATE_KEY:
        return None
    key = first.get("keyValue") or {}
    if isinstance(key.get("walletAddress"), str):
        return str(key["walletAddress"])
    idempotency = key.get("idempotencyKey")
    return key_wallet(idempotency) if isinstance(idempotency, str) else None


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
        self.run_id: str | None = None  # set by `run` unless it is a dry run

    async def run(
        self,
        path: Path,
        *,
        dry_run: bool = False,
        progress: Callable[[ImportReport], None] | None = None,
    ) -> ImportReport:
        report = ImportReport(dry_run=dry_run)
        runs = ImportRun.get_pymongo_collection()
        if not dry_run:
            self.run_id = report.run_id = new_run_id(self.clock())
            run = ImportRun(
                id=self.run_id, file=str(path), actor=self.actor, started_at=self.clock()
            )
            await runs.insert_one(run.model_dump(by_alias=True, exclude={"revision_id"}))
        queue: asyncio.Queue[list[Prepared] | None] = asyncio.Queue(maxsize=1)
        reader = asyncio.create_task(self._read(path, report, queue))
        try:
            while (batch := await queue.get()) is not None:
                await self._write(batch, report, dry_run)
                if progress:
                    progress(report)
            await reader  # raises what stopped the reader, if anything did
        finally:
            if not reader.done():  # the writer failed: stop reading, then re-raise
                reader.cancel()
            await asyncio.wait({reader})
            if not reader.cancelled():
                reader.exception()  # retrieved: the writer's error, if any, is the one raised
        if progress:
            progress(report)
        if self.run_id is not None:
            done = {
                "finishedAt": self.clock(),
                "imported": report.imported,
                "coinsImported": report.coins_imported,
            }
            await runs.update_one({"_id": self.run_id}, {"$set": done})
        return report

    async def _read(
        self, path: Path, report: ImportReport, queue: asyncio.Queue[list[Prepared] | None]
    ) -> None:
        """Fill `queue` with batches of prepared saves, then None (also after an error,
        which is re-raised so that `run` sees it once the writer has caught up)."""
        error: Exception | None = None
        try:
            batch: list[Prepared] = []
            for count, save in enumerate(read_saves(path, self.planner, report), 1):
                batch.append(self._prepare(save))
                if count % YIELD_EVERY == 0:
                    await asyncio.sleep(0)
                if len(batch) >= self.batch_size:
                    await queue.put(batch)
                    batch = []
            if batch:
                await queue.put(batch)
        except Exception as failure:  # handed to `run` once the writer has caught up
            error = failure
        await queue.put(None)
        if error is not None:
            raise error

    def _prepare(self, save: Save) -> Prepared:
        now = self.clock()
        plan = save.plan
        user = User(
            wallet_address=save.wallet,
            username=plan.username or default_username(),
            coins=plan.coins,
            created_at=now,
        ).model_dump(by_alias=True, exclude={"id", "revision_id"})
        user |= user_changes(plan, dict(user["customization"]), now)
        entry = None
        if plan.coins:
            user["stats"]["economy"]["totalCoinsEarned"] = plan.coins
            entry = self._entry(save, now)
        return Prepared(
            save,
            user,
            entry,
            puffle_documents(save.wallet, plan, now),
            audit_document(save.wallet, plan, self.actor, BULK_IMPORT, now, runId=self.run_id),
        )

    async def _write(self, batch: list[Prepared], report: ImportReport, dry_run: bool) -> None:
        unique: dict[str, Prepared] = {}
        for prepared in batch:
            unique.setdefault(prepared.wallet, prepared)  # the first save of a wallet wins
        report.skipped_existing += len(batch) - len(unique)
        existing = await self._existing(list(unique))
        fresh = [prepared for wallet, prepared in unique.items() if wallet not in existing]
        report.skipped_existing += len(unique) - len(fresh)
        if not fresh:
            return
        await self._key_generations(fresh)
        renamed = await self._name(fresh)
        if not dry_run:
            try:
                await self.economy.run_transaction(_inserts(fresh))
            except (BulkWriteError, DuplicateKeyError) as error:
                if is_username_clash(error):
                    # A player took one of the names meanwhile: name the batch again.
                    await self._write(fresh, report, dry_run)
                    return
                # Someone signed in (or another import ran) between the check and the
                # write: the batch was rolled back; redo it without that wallet.
                clash = clashing_wallet(error)
                rest = [prepared for prepared in fresh if prepared.wallet != clash]
                if len(rest) == len(fresh):
                    raise
                report.skipped_existing += 1
                logger.info(
                    "wallet appeared during the import", extra={"line": _line(fresh, clash)}
                )
                await self._write(rest, report, dry_run)
                return
            await self._verify(fresh, report)
        report.imported += len(fresh)
        report.renamed += len(renamed)
        room = MAX_INVALID_LISTED - len(report.renamed_names)
        report.renamed_names += renamed[: max(room, 0)]
        report.coins_imported += sum(prepared.save.plan.coins for prepared in fresh)
        report.items_dropped += sum(len(prepared.save.plan.dropped) for prepared in fresh)
        for prepared in fresh:
            _count_exclusives(report, prepared.save)
            _count_dropped(report, prepared.save)

    async def _key_generations(self, batch: list[Prepared]) -> None:
        """A wallet whose earlier import was rolled back is credited under its
        generation's ledger key, not the first one the rollback left taken
        (services/migration_keys.py)."""
        found = await generations(p.wallet for p in batch if p.entry is not None)
        for prepared in batch:
            if prepared.entry is not None:
                key = migration_key(prepared.wallet, found.get(prepared.wallet, 0))
                prepared.entry["idempotencyKey"] = key

    async def _name(self, batch: list[Prepared]) -> list[dict[str, Any]]:
        """Give each save a name nobody has: a save's own name is a wish, given a number
        when another player has it. The renamed saves (line, wished, given)."""
        users = User.get_pymongo_collection()
        wishes = [p.save.plan.username or p.user["username"] for p in batch]
        given = await free_usernames(users, wishes)
        renamed: list[dict[str, Any]] = []
        for prepared, name in zip(batch, given, strict=True):
            prepared.user["username"], prepared.user["usernameLower"] = name, lower(name)
            wished = prepared.save.plan.username
            if wished is not None and name != wished:
                renamed.append({"line": prepared.save.line, "wished": wished, "given": name})
                prepared.audit["details"]["accepted"]["username"] = name
                prepared.audit["details"]["usernameWished"] = wished
        return renamed

    async def _existing(self, wallets: list[str]) -> set[str]:
        found: set[str] = set()
        for chunk in _chunks(wallets):
            cursor = User.get_pymongo_collection().find(
                {"walletAddress": {"$in": list(chunk)}}, {"walletAddress": 1, "_id": 0}
            )
            found |= {doc["walletAddress"] async for doc in cursor}
        return found

    def _entry(self, save: Save, now: datetime) -> dict[str, Any]:
        entry: dict[str, Any] = Transaction(
            wallet_address=save.wallet,
            amount=save.plan.coins,
            balance_after=save.plan.coins,
            type=MIGRATION,
            reason="coins from a localStorage save (bulk import)",
            proof={"source": SOURCE, "line": save.line, "runId": self.run_id},
            actor=self.actor,
            idempotency_key=migration_key(save.wallet),
            created_at=now,
        ).model_dump(by_alias=True, exclude={"id", "revision_id"})
        return entry

    async def _verify(self, batch: list[Prepared], report: ImportReport) -> None:
        """Re-read what the batch wrote: each user with the planned coins and marker."""
        expected = {prepared.wallet: prepared.save.plan.coins for prepared in batch}
        seen: set[str] = set()
        for chunk in _chunks(list(expected)):
            cursor = User.get_pymongo_collection().find(
                {"walletAddress": {"$in": list(chunk)}},
                {"walletAddress": 1, "coins": 1, "migrationSource": 1, "_id": 0},
            )
            async for doc in cursor:
                wallet = doc["walletAddress"]
                seen.add(wallet)
                if doc.get("coins") == expected[wallet] and doc.get("migrationSource"):
                    report.verified += 1
                else:
                    report.verification_failures.append(wallet)
        report.verification_failures += [wallet for wallet in expected if wallet not in seen]


def _inserts(batch: list[Prepared]) -> Callable[[Session], Any]:
    users = [prepared.user for prepared in batch]
    entries = [prepared.entry for prepared in batch if prepared.entry is not None]
    puffles = [puffle for prepared in batch for puffle in prepared.puffles]
    audits = [prepared.audit for prepared in batch]

    async def writes(session: Session) -> None:
        await User.get_pymongo_collection().insert_many(users, session=session)
        if entries:
            await Transaction.get_pymongo_collection().insert_many(entries, session=session)
        if puffles:
            await Puffle.get_pymongo_collection().insert_many(puffles, session=session)
        await AuditLog.get_pymongo_collection().insert_many(audits, session=session)

    return writes


def _count_exclusives(report: ImportReport, save: Save) -> None:
    if not save.exclusives:
        return
    report.saves_with_exclusives += 1
    for item in save.exclusives:
        report.exclusives[item] = report.exclusives.get(item, 0) + 1
    if len(report.exclusive_lines) < MAX_INVALID_LISTED:
        report.exclusive_lines.append(
            {"line": save.line, "walletAddress": save.wallet, "items": list(save.exclusives)}
        )


_INDEX = re.compile(r"\[[0-9:]*\]")
MAX_DROPPED_NAMES = 200  # distinct field names reported; the rest are counted as OTHER
OTHER = "(other fields)"


def field_name(where: str) -> str:
    """What a dropped entry names, without its index or value: `puffles[3]` and
    `clubpenguin_save.stamps:xyz` count as `puffles` and `clubpenguin_save.stamps`."""
    return _INDEX.sub("", where.split(":", 1)[0]) or where


def _count_dropped(report: ImportReport, save: Save) -> None:
    for dropped in save.plan.dropped:
        name = field_name(dropped.field)
        if name not in report.dropped_fields and len(report.dropped_fields) >= MAX_DROPPED_NAMES:
            name = OTHER
        report.dropped_fields[name] = report.dropped_fields.get(name, 0) + 1


def count_saves(path: Path) -> int:
    """The lines of the file that are not blank: what the progress counts up to."""
    count = 0
    with path.open("rb") as handle:
        for raw in handle:
            count += bool(raw.strip())
    return count


def new_run_id(now: datetime) -> str:
    """A run id an operator can type: the UTC start time and 6 random hex digits."""
    return f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def _line(batch: list[Prepared], wallet: str | None) -> int | None:
    return next((p.save.line for p in batch if p.wallet == wallet), None)
