"""StatsBatcher: high-frequency player counters, merged in memory and written in bulk.

Seed 000 §5.2. Steps walked, chats sent, emotes, rooms visited ... are counted on the
hot path with a synchronous `queue()` and written by one unordered `bulk_write` of `$inc`
updates per flush, instead of one database write per event.

Counters, not state (docs/durability.md): a flush does not wait for the journal. SecantusDB
runs each update of a bulk write as its own storage transaction, so a journaled flush of
1,000 players was 1,000 journal flushes, each holding the users collection's lock, in
turn with every other write to it: under a sign-in storm that made a flush of 700 players
take 40 s.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeAlias

from pymongo import AsyncMongoClient, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, PyMongoError, WriteError

from clubpengu.db import without_journal_wait
from clubpengu.metrics import Metrics
from clubpengu.models.user import User

logger = logging.getLogger(__name__)

Number: TypeAlias = int | float
Counters: TypeAlias = dict[str, Number]  # path (without "stats.") -> total
Batch: TypeAlias = dict[str, Counters]  # wallet -> counters
Fields: TypeAlias = dict[str, Any]  # top-level user fields to $set with the counters
Collection: TypeAlias = AsyncCollection[dict[str, Any]]

PATH_PATTERN = re.compile(r"[a-z][a-zA-Z0-9]*(?:\.[a-z][a-zA-Z0-9]*){0,3}")
# `stats.economy` belongs to the ledger; a leading `stats` is the caller adding the prefix twice.
RESERVED_ROOTS = frozenset({"economy", "stats"})
MAX_PATHS = 1000
CHUNK_SIZE = 1000
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
# Per-document write errors that fail the same way on every attempt (the stored document
# cannot take the update: BadValue, TypeMismatch, PathNotViable, ConflictingUpdateOperators,
# DollarPrefixedFieldName, DocumentValidationFailure, BSONObjectTooLarge, too large after
# update). Retrying them would hold the counters, and warn, forever.
PERMANENT_WRITE_ERRORS = frozenset({2, 14, 28, 40, 52, 121, 10334, 17419})


@dataclass
class FlushReport:
    """What one `flush()` did. `requeued` players' counters were put back for a later flush;
    `dropped` counters were refused for good (unknown wallet or a permanent write error);
    `joined`: another flush was writing, this call waited for it and wrote nothing."""

    players: int = 0
    ops: int = 0
    bulk_writes: int = 0
    requeued: int = 0
    dropped: int = 0
    seconds: float = 0.0
    joined: bool = False  # a flush was already writing: this call wrote nothing itself

    @property
    def ok(self) -> bool:
        return self.requeued == 0


class StatsBatcher:
    """Counters per player, kept in memory and added to `users.stats.<path>` by `$inc`.

    `queue(wallet, "movement.steps")` is synchronous and O(1): it adds to a dict
    `{wallet: {path: total}}`. `flush()` swaps that dict for an empty one and writes it as
    unordered `bulk_write`s of one `UpdateOne({"walletAddress": w}, {"$inc": ...})` per
    player, `chunk_size` players per bulk write. `start()` flushes every `flush_interval`
    seconds in a background task; `stop()` flushes a last time.

    Invariant: an increment is written once, or is still pending. A flush that fails is
    merged back into pending (added to what was queued meanwhile) and retried with
    exponential backoff, from `initial_backoff` doubling up to `max_backoff` seconds. An
    unordered bulk write that fails for some players only puts back those players. Counters
    are dropped on purpose, with a warning and in `dropped_counters`, in two cases only: the
    wallet has no user document (guests persist nothing; there is no upsert), or the
    document refuses the update for good (`PERMANENT_WRITE_ERRORS`, e.g. a counter path
    that is not a number in the stored document). Increments are lost only when `stop()`
    cannot write them after `stop_attempts` tries; it logs how many. When the driver cannot
    tell whether a write was applied (a connection lost after the server applied it and
    the driver's one retryable-write retry also failed), the counters are put back, so in
    that rare case they may be counted twice rather than lost.

    Paths are given without the `stats.` prefix and must match `PATH_PATTERN` (one to four
    camelCase segments); `economy.*` (the ledger's) and a leading `stats.` are refused, and
    so is a path that would nest inside, or contain, a counter already used
    (`movement` vs `movement.steps`), since both in one `$inc` fail the whole update. At
    most `max_paths` distinct paths are accepted, so a caller that builds paths from
    player input cannot add fields to user documents without bound. Bad input raises
    `ValueError`, not a DomainError: the callers are server code, and a player should not
    receive an error frame for the server's own bug.

    With `batching=False` (STATS_BATCHING off) `queue()` starts one `update_one` task per
    call instead; the tasks are referenced until done, a failed one is put back into
    pending for the timer's next flush, and `flush()`/`stop()` wait for them.

    Not thread-safe: call everything from the event loop's thread, as the tick loop does.
    """

    def __init__(
        self,
        users: Collection | Callable[[], Collection],
        *,
        batching: bool = True,
        flush_interval: float = 30.0,
        chunk_size: int = CHUNK_SIZE,
        initial_backoff: float = 1.0,
        max_backoff: float = 300.0,
        stop_attempts: int = 3,
        stop_timeout: float | None = None,
        max_paths: int = MAX_PATHS,
        clock: Callable[[], float] = time.perf_counter,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        metrics: Metrics | None = None,
    ) -> None:
        if flush_interval <= 0 or initial_backoff <= 0 or max_backoff < initial_backoff:
            raise ValueError("flush_interval and backoffs must be positive, max >= initial")
        if chunk_size < 1 or stop_attempts < 1:
            raise ValueError("chunk_size and stop_attempts must be at least 1")
        if isinstance(users, AsyncCollection):
            collection = users

            def provider() -> Collection:
                return collection

            self._users: Callable[[], Collection] = provider
        else:
            self._users = users
        self.batching = batching
        self.flush_interval = flush_interval
        self._chunk_size = chunk_size
        self._initial_backoff = initial_backoff
        self._max_backoff = max_backoff
        self._stop_attempts = stop_attempts
        self._stop_timeout = stop_timeout
        self._max_paths = max_paths
        self._clock = clock
        self._sleep = sleep
        self._metrics = metrics or Metrics()
        self._metrics.watch_stats(lambda: self.pending_count)

        self._pending: Batch = {}
        self._unwritten: Batch = {}  # the flush's batch, minus what has been acknowledged
        # Fields set with a player's next counters (`set_with_counters`), and the flush's.
        self._sets: dict[str, Fields] = {}
        self._unwritten_sets: dict[str, Fields] = {}
        self._paths: set[str] = set()  # validated counter paths
        self._prefixes: set[str] = set()  # their proper prefixes (`movement` of `movement.steps`)
        self._flushing: asyncio.Event | None = None  # set when the flush in progress ends
        self._io_lock = asyncio.Lock()  # held around each bulk write and get_stats' read
        self._tasks: set[asyncio.Task[None]] = set()  # immediate writes (batching off)
        self._runner: asyncio.Task[None] | None = None
        self._stopping = False
        self._sleeping = False
        self._consecutive_failures = 0

        self.flushes = 0
        self.flush_failures = 0
        self.last_flush_seconds = 0.0
        self.dropped_counters = 0

    @classmethod
    def for_database(
        cls, client: AsyncMongoClient[dict[str, Any]], db_name: str, **options: Any
    ) -> StatsBatcher:
        """A batcher writing to `db_name`'s users collection through `client`."""
        return cls(client[db_name][User.Settings.name], **options)

    def _writes(self) -> Collection:
        return without_journal_wait(self._users())

    # -- the hot path -------------------------------------------------------------------

    def queue(self, wallet: str, path: str, increment: Number = 1) -> None:
        """Add `increment` to the player's `stats.<path>`: no I/O, O(1) (the first use of a
        path validates it). Raises ValueError for an empty wallet, a refused path, or an
        increment that is not a finite int (within int64) or float (bool is refused)."""
        if path not in self._paths:
            self._register_path(path)
        if type(increment) is int:
            if not _INT64_MIN <= increment <= _INT64_MAX:
                raise ValueError(f"increment out of the int64 range: {increment}")
        elif type(increment) is not float or not math.isfinite(increment):
            increment = _checked_increment(increment)
        if type(wallet) is not str or not wallet:
            raise ValueError("wallet must be a non-empty string")
        if not self.batching:
            self._write_now(wallet, path, increment)
            return
        counters = self._pending.get(wallet)
        if counters is None:
            self._pending[wallet] = {path: increment}
        else:
            counters[path] = counters.get(path, 0) + increment

    def set_with_counters(self, wallet: str, fields: Fields) -> None:
        """`$set` these top-level user fields in the player's update of the next flush,
        with their counters (or alone): no I/O. At shutdown a leave's place (room,
        position) goes this way, so that the node's stop writes one update per player, not
        two (services/presence.py). A later call's fields win; a failed flush keeps them
        for its retry, as it keeps counters. Raises ValueError for an empty wallet or a
        field under `stats` (the counters' own)."""
        if type(wallet) is not str or not wallet:
            raise ValueError("wallet must be a non-empty string")
        if any(name == "stats" or name.startswith(("stats.", "$")) for name in fields):
            raise ValueError(f"not a field to set with the counters: {sorted(fields)}")
        if fields:  # an update with nothing in it is refused by the database
            self._sets.setdefault(wallet, {}).update(fields)

    def _register_path(self, path: str) -> None:
        if type(path) is not str or not PATH_PATTERN.fullmatch(path):
            raise ValueError(
                f"stat path {path!r} must be 1-4 dot-separated camelCase segments, "
                "without the stats. prefix (e.g. 'movement.steps')"
            )
        parts = path.split(".")
        if parts[0] in RESERVED_ROOTS:
            raise ValueError(f"stat path {path!r}: {parts[0]}.* is not a batched counter")
        prefixes = [".".join(parts[:n]) for n in range(1, len(parts))]
        clash = next((p for p in prefixes if p in self._paths), None)
        if clash is not None or path in self._prefixes:
            raise ValueError(f"stat path {path!r} conflicts with a counter already in use")
        if len(self._paths) >= self._max_paths:
            raise ValueError(f"more than {self._max_paths} distinct stat paths")
        self._paths.add(path)
        self._prefixes.update(prefixes)

    # -- reading ------------------------------------------------------------------------

    @property
    def pending_count(self) -> int:
        """Counters (player, path) not yet written; O(players), for metrics."""
        return sum(map(len, self._pending.values())) + sum(map(len, self._unwritten.values()))

    @property
    def pending_sets(self) -> int:
        """Players with fields to set not yet written."""
        return len(self._sets) + len(self._unwritten_sets)

    def pending(self, wallet: str) -> Counters:
        """The player's increments not yet acknowledged by the database, by path."""
        totals: Counters = {}
        _add_counters(totals, self._unwritten.get(wallet, {}))
        _add_counters(totals, self._pending.get(wallet, {}))
        return totals

    async def get_stats(self, wallet: str) -> dict[str, Any]:
        """The player's `stats` as stored plus this node's pending increments, nested as in
        the document (`{"movement": {"steps": 12}, "economy": {...}}`); `{}` plus pending
        for an unknown wallet. Exact with respect to this node's flushes: the read waits
        for a bulk write in flight. An immediate write (batching off) still in flight may
        be missing for the milliseconds it takes. Raises PyMongoError."""
        async with self._io_lock:
            document = await self._users().find_one(
                {"walletAddress": wallet}, {"_id": 0, "stats": 1}
            )
            stats: dict[str, Any] = dict((document or {}).get("stats") or {})
            _add_nested(stats, self.pending(wallet))
        return stats

    # -- flushing -----------------------------------------------------------------------

    async def flush(self) -> FlushReport:
        """Write everything pending now; see the class docstring for what happens on failure.

        Flushes never overlap and never queue up behind each other: a call made while a
        flush is writing waits for that one and returns an empty report (`joined`) without
        writing; what was queued meanwhile is the next flush's. Otherwise, when it returns,
        every increment queued before the call has been attempted (immediate writes
        included). Database errors are handled here (logged, counters put back), not raised.
        """
        if self._tasks:
            await asyncio.wait(list(self._tasks))
        if self._flushing is not None:
            await self._flushing.wait()
            return FlushReport(joined=True)
        batch, self._pending = self._pending, {}
        sets, self._sets = self._sets, {}
        for wallet in sets:
            batch.setdefault(wallet, {})
        if not batch:
            return FlushReport()
        self._flushing = asyncio.Event()
        self._unwritten, self._unwritten_sets = batch, sets
        started = self._clock()
        report = FlushReport(players=len(batch))
        # With "stats flushed" it brackets the window in which a crash loses the batch
        # being written (the chaos tests kill the server inside it).
        logger.info("stats flush started: %d players", len(batch))
        try:
            await self._write_batch(report)
        finally:
            # A database failure, an unexpected error or a cancellation left these unwritten.
            report.requeued += len(self._unwritten)
            _merge(self._pending, {w: c for w, c in self._unwritten.items() if c})
            for wallet, fields in self._unwritten_sets.items():
                self._sets[wallet] = fields | self._sets.get(wallet, {})  # the later win
            self._unwritten, self._unwritten_sets = {}, {}
            report.seconds = self.last_flush_seconds = self._clock() - started
            self._count(report)
            self._flushing.set()
            self._flushing = None
        return report

    async def _write_batch(self, report: FlushReport) -> None:
        wallets = list(self._unwritten)
        for start in range(0, len(wallets), self._chunk_size):
            if not await self._write_chunk(wallets[start : start + self._chunk_size], report):
                return  # the database is failing: keep the rest for the retry

    async def _write_chunk(self, wallets: list[str], report: FlushReport) -> bool:
        """One unordered bulk write. False when it failed as a whole (all kept unwritten)."""
        batch, sets = self._unwritten, self._unwritten_sets
        ops = [UpdateOne({"walletAddress": w}, _update(batch[w], sets.get(w))) for w in wallets]
        report.ops += len(ops)
        report.bulk_writes += 1
        async with self._io_lock:
            try:
                result = await self._writes().bulk_write(ops, ordered=False)
                matched, errors = result.matched_count, []
            except BulkWriteError as error:
                matched, errors = error.details["nMatched"], error.details["writeErrors"]
            except PyMongoError as error:
                logger.warning("stats flush failed; kept for a retry", extra=_error_info(error))
                return False
            written = {w: batch.pop(w) for w in wallets}
            written_sets = {w: sets.pop(w) for w in wallets if w in sets}
        self._settle_write_errors(wallets, written, written_sets, errors, report)
        unmatched = len(ops) - len(errors) - matched
        if unmatched > 0:
            failed = {wallets[error["index"]] for error in errors}
            await self._drop_unknown({w: written[w] for w in written if w not in failed}, report)
        return True

    def _settle_write_errors(
        self,
        wallets: list[str],
        written: Batch,
        written_sets: dict[str, Fields],
        errors: list[dict[str, Any]],
        report: FlushReport,
    ) -> None:
        """Unordered: every op without a write error was applied. Put back the transient
        failures, drop the permanent ones."""
        for error in errors:
            wallet = wallets[error["index"]]
            counters = written[wallet]
            if error.get("code") in PERMANENT_WRITE_ERRORS:
                report.dropped += len(counters)
                logger.error(
                    "stats refused by the user document; dropped",
                    extra={
                        "wallet": _short(wallet),
                        "paths": sorted(counters),
                        **_error_info(error),
                    },
                )
            else:
                report.requeued += 1
                if counters:
                    _merge(self._pending, {wallet: counters})
                if wallet in written_sets:
                    self._sets[wallet] = written_sets[wallet] | self._sets.get(wallet, {})
        if errors:
            logger.warning("stats flush: %d of %d updates failed", len(errors), len(wallets))

    async def _drop_unknown(self, applied: Batch, report: FlushReport) -> None:
        """Some updates matched no user document (no upsert: guests persist nothing). One
        read names them for the log and counts their counters as dropped."""
        try:
            cursor = self._users().find(
                {"walletAddress": {"$in": list(applied)}}, {"_id": 0, "walletAddress": 1}
            )
            known = {document["walletAddress"] async for document in cursor}
        except PyMongoError as error:
            logger.warning("could not name the unknown wallets", extra=_error_info(error))
            return
        unknown = sorted(set(applied) - known)
        report.dropped += sum(len(applied[wallet]) for wallet in unknown)
        logger.warning(
            "stats for %d unknown wallets dropped (guests persist nothing)",
            len(unknown),
            extra={"wallets": [_short(wallet) for wallet in unknown[:5]]},
        )

    def _count(self, report: FlushReport) -> None:
        self.dropped_counters += report.dropped
        self._metrics.stats_flushed(report.seconds, report.ok)
        if report.ok:
            self.flushes += 1
            self._consecutive_failures = 0
            logger.info(
                "stats flushed: %d players, %d ops in %d bulk writes, %.3f s",
                report.players, report.ops, report.bulk_writes, report.seconds,
            )  # fmt: skip
        else:
            self.flush_failures += 1
            self._consecutive_failures += 1
            logger.warning(
                "stats flush incomplete: %d of %d players kept for a retry",
                report.requeued, report.players,
            )  # fmt: skip

    def retry_delay(self) -> float:
        """Seconds until the timer's next attempt after the current run of failures."""
        exponent = min(max(self._consecutive_failures - 1, 0), 32)
        return min(self._max_backoff, self._initial_backoff * (1 << exponent))

    # -- batching off -------------------------------------------------------------------

    def _write_now(self, wallet: str, path: str, increment: Number) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop (a script): the next flush writes it
            _merge(self._pending, {wallet: {path: increment}})
            return
        task = loop.create_task(self._write_one(wallet, path, increment))
        # The loop keeps only weak references to tasks; an unreferenced one can vanish.
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _write_one(self, wallet: str, path: str, increment: Number) -> None:
        try:
            result = await self._writes().update_one(
                {"walletAddress": wallet}, {"$inc": {"stats." + path: increment}}
            )
        except PyMongoError as error:
            if isinstance(error, WriteError) and error.code in PERMANENT_WRITE_ERRORS:
                self.dropped_counters += 1
                logger.error(
                    "stat refused by the user document; dropped",
                    extra={"wallet": _short(wallet), "paths": [path], **_error_info(error)},
                )
            else:
                logger.warning(
                    "stat write failed; kept for the next flush", extra=_error_info(error)
                )
                _merge(self._pending, {wallet: {path: increment}})
            return
        except asyncio.CancelledError:
            _merge(self._pending, {wallet: {path: increment}})
            raise
        if result.matched_count == 0:
            self.dropped_counters += 1
            logger.warning(
                "stat for an unknown wallet dropped (guests persist nothing)",
                extra={"wallet": _short(wallet)},
            )

    # -- the timer ----------------------------------------------------------------------

    def start(self) -> None:
        """Start the background task that flushes every `flush_interval` seconds (after a
        failed flush: `retry_delay()`). Needed with batching off too: it retries the
        immediate writes that failed. Call from the event loop; a second call does nothing."""
        if self._runner is None or self._runner.done():
            self._stopping = False
            self._runner = asyncio.get_running_loop().create_task(self._run(), name="stats-flush")

    async def _run(self) -> None:
        delay = self.flush_interval
        while not self._stopping:
            self._sleeping = True
            try:
                await self._sleep(delay)
            finally:
                self._sleeping = False
            try:
                ok = (await self.flush()).ok
            except Exception:  # a bug must not end the timer; flush() put the batch back
                logger.exception("stats flush crashed")
                ok = False
            delay = self.flush_interval if ok else self.retry_delay()

    async def stop(self, within: float | None = None) -> None:
        """Graceful shutdown: stop the timer (a flush it is running finishes first), wait for
        immediate writes, then flush, up to `stop_attempts` times with backoff between,
        within `within` seconds (the node's shutdown gives what its deadline leaves), else
        `stop_timeout` if set (a write cut off by it counts as not written).
        What still is not written is logged as lost; it stays in pending, so a later
        flush() in the same process could still write it."""
        self._stopping = True
        runner, self._runner = self._runner, None
        limit = self._stop_timeout if within is None else within
        try:
            async with asyncio.timeout(limit):
                if runner is not None:
                    if self._sleeping:
                        runner.cancel()
                    await asyncio.wait([runner])
                await self._final_flush()
        except TimeoutError:
            logger.error("stats final flush cut off after %.1f s", limit)
            if runner is not None and not runner.done():
                runner.cancel()  # its flush puts the unacknowledged batch back
                await asyncio.wait([runner])
        if self._pending:
            logger.error(
                "stats not written at shutdown: %d counters of %d players (total %s) will be lost",
                self.pending_count,
                len(self._pending),
                sum(sum(counters.values()) for counters in self._pending.values()),
            )
        if self._sets:
            logger.error("fields of %d players not written at shutdown", len(self._sets))

    async def _final_flush(self) -> None:
        attempt = 0
        while attempt < self._stop_attempts:
            try:
                report = await self.flush()
                if report.joined:
                    continue  # someone else's flush ended: this one writes what is left
                attempt += 1
                if report.ok:
                    return
            except Exception:
                attempt += 1
                logger.exception("stats flush crashed")
            if attempt < self._stop_attempts:
                await self._sleep(self.retry_delay())


def _checked_increment(value: object) -> Number:
    """The slow path of queue()'s check: int and float subclasses, or a ValueError."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"increment must be an int or a float, got {type(value).__name__}")
    if isinstance(value, int):
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise ValueError(f"increment out of the int64 range: {value}")
        return int(value)
    if not math.isfinite(value):
        raise ValueError(f"increment must be finite, got {value}")
    return float(value)


def _add_counters(target: Counters, source: Counters) -> None:
    for path, value in source.items():
        target[path] = target.get(path, 0) + value


def _merge(target: Batch, source: Batch) -> None:
    """Add `source` into `target`, taking over source's dicts (the caller drops source)."""
    for wallet, counters in source.items():
        current = target.get(wallet)
        if current is None:
            target[wallet] = counters
        else:
            _add_counters(current, counters)


def _inc(counters: Counters) -> dict[str, Number]:
    return {"stats." + path: value for path, value in counters.items()}


def _update(counters: Counters, fields: Fields | None) -> dict[str, Any]:
    update: dict[str, Any] = {"$inc": _inc(counters)} if counters else {}
    if fields:
        update["$set"] = fields
    return update


def _add_nested(stats: dict[str, Any], counters: Counters) -> None:
    """Add flat `a.b.c` counters into a nested stats document, in place. A path the stored
    document cannot take (a number where an object is needed) is left out: the write will
    be refused too."""
    for path, value in counters.items():
        *parents, leaf = path.split(".")
        node = stats
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                break
            node = child
        else:
            current = node.get(leaf, 0)
            if isinstance(current, int | float) and not isinstance(current, bool):
                node[leaf] = current + value


def _short(wallet: str) -> str:
    return wallet if len(wallet) <= 10 else f"{wallet[:4]}…{wallet[-4:]}"


def _error_info(error: PyMongoError | dict[str, Any]) -> dict[str, Any]:
    if isinstance(error, dict):
        return {"code": error.get("code"), "error": str(error.get("errmsg", ""))[:200]}
    return {"code": getattr(error, "code", None), "error": type(error).__name__}
