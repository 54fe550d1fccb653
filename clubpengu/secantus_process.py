"""`python -m clubpengu.secantus_process ARGS`: the embedded database's process, SecantusDB's
own `main` with fixes to the pinned version (0.7.0b3) applied first: the transaction
reaper's convoy, and the index upkeep of an update (below).

**The reaper convoy.** Every transaction statement, commit and abort takes the registry's
one lock and, holding it, sweeps every session's transaction for an idle one to reap
(`TransactionRegistry._prune_locked`), taking each transaction's own mutex on the way. A
transaction holds its mutex while one of its statements runs or while it commits, so the
sweep waits for the slowest statement in flight, and every other transaction in the
database waits behind the sweep: under two hundred matches against the computer (a start
and a settlement in transactions each, every few seconds per player) the database's
threads lined up there and `match_move` reached p99 43 s with the database at 31 % of a
core (docs/secantusdb-transaction-reaper.md has the measurements and a minimal
reproduction for SecantusDB's maintainers).

The fix: the sweep passes over a transaction whose mutex is held. That one is in use, so
it is not idle, and the next sweep looks at it again; a transaction idle past its
lifetime is still reaped, by the first sweep after it went idle, exactly as before. The
lock order (`_lock`, then a transaction's mutex, never the reverse) is unchanged, and a
non-blocking acquire cannot deadlock.

**Index upkeep on update.** Every update of a document deleted all of its index entries
and wrote them all again, changed or not, and read the collection's index catalogue from
WiredTiger about a dozen times (once per helper that needs it), all under the
collection's write lock: an update of a Match (five secondary indexes) cost 2.2 ms against
0.94 ms without them, and 200 matches against the computer kept the lock of
`matches` held all the time (docs/secantusdb-index-writes.md). clubpengu/secantus_indexes.py
rewrites only the keys that changed (per index, old keys against new, partial-filter
membership and array elements included; a unique index's claims follow its keys, and a
kept key's claim is taken as the shipped rewrite would take it when the document does
not hold it), and reads the catalogue once per update attempt: within one WiredTiger
transaction (or one statement of a user transaction) the catalogue only changes by the
update's own multikey flag, after which it is read again; a retry after a write conflict
reads afresh, since an index may have been built in between. And a write whose filter
names an `_id` with other fields (a Match's move: `_id`, `version`, `status`) finds its
candidate through the `_id` alone, where the shipped lookup tried the other indexes
first; the write checks the whole filter on it, as it did on every candidate.

**Profiling settings read on every command.** SecantusDB reads a database's profiling
level (`Storage.get_profile`) from WiredTiger after every command, to decide whether to
write a `system.profile` entry, and it does so under the storage's one lock that every
thread takes: a cursor, a search and a BSON decode per command. Under 200 matches against
the computer that was 7.6 % of the database's samples, a quarter of its time in commands
(docs/performance.md#the-databases-time). The settings live in their own table, which
only `Storage.set_profile` writes (the `profile` command): they are kept in memory per
database, filled by the first read and dropped by every `set_profile`, both under that
lock, so no read keeps a value older than the last write.

**`--no-oplog`** (an option of this process, which the node passes): SecantusDB keeps an
oplog whenever it plays a replica set, its default, which the node keeps so that the
driver behaves as against production's replica set (retryable writes, a commit's
retry). The oplog is for change streams, which nothing here opens, and costs an entry
beside every document written: for an update, a diff of the old and new document, a
BSON encode and a write, and past 100,000 entries a prune
(docs/performance.md#the-databases-time). With the option, the storage is opened
without it; a change stream would then see no event.

Applied only to the version they were written against (anything else runs as shipped, with a
warning), so upgrading SecantusDB cannot silently carry a patch into code it was not
read against.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from typing import Any

FIXED_VERSION = "0.7.0b3"
NO_OPLOG = "--no-oplog"
STOP_POLL = 0.1  # seconds between looks at the stop event while the database runs


def _prune_skipping_busy(self: Any) -> int:
    """`TransactionRegistry._prune_locked`, passing over transactions in use."""
    from secantus.transactions import TxnState

    cutoff = self._time() - self._lifetime
    reaped = 0
    for txn in list(self._txns.values()):
        if not txn.mutex.acquire(blocking=False):
            continue  # a statement or commit is running in it: not idle
        try:
            if txn.state is TxnState.IN_PROGRESS and txn.last_use < cutoff:
                self._rollback_quietly(txn)
                txn.state = TxnState.ABORTED
                reaped += 1
        finally:
            txn.mutex.release()
    return reaped


PROFILE_MEMO = "_clubpengu_profiles"
PROFILE_METHODS = ("get_profile", "set_profile")  # the Storage methods replaced here
_SHIPPED_PROFILE: dict[str, Any] = {}


def _get_profile_kept(self: Any, db: str) -> dict[str, Any]:
    """`Storage.get_profile`, from memory once read."""
    kept: dict[str, dict[str, Any]] | None = self.__dict__.get(PROFILE_MEMO)
    found = None if kept is None else kept.get(db)
    if found is None:
        with self._lock:
            found = _SHIPPED_PROFILE["get_profile"](self, db)
            self.__dict__.setdefault(PROFILE_MEMO, {})[db] = found
    return dict(found)


def _set_profile_kept(self: Any, db: str, **settings: Any) -> None:
    """`Storage.set_profile`, forgetting the settings kept in memory (the next read
    fills them from the table)."""
    with self._lock:
        self.__dict__.setdefault(PROFILE_MEMO, {}).pop(db, None)
        _SHIPPED_PROFILE["set_profile"](self, db, **settings)


def _wait_polling(self: Any) -> None:
    """`SecantusDBServer.wait`, with SecantusDB's SIGINT/SIGTERM handler run once and
    outside signal context. The shipped handler calls `stop()` (`Event.set()`, which takes
    the event's lock, then joins threads) from inside the signal handler, on the main
    thread; a second signal during that stop re-enters the handler, whose `Event.set()`
    then waits for the lock its own outer frame holds, for ever: a server killed with
    SIGKILL left its database running, every thread parked, five nested handlers in
    `Condition.__enter__`. Here a signal only notes itself; the wait, which takes no lock
    (`is_set()`), sees it and runs the shipped handler once, later signals ignored."""
    caught: list[int] = []
    shipped: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            handler = signal.getsignal(signum)
            if callable(handler):
                shipped[signum] = handler
                signal.signal(signum, lambda number, _frame: caught.append(number))
    while not self._stop_event.is_set() and not caught:
        time.sleep(STOP_POLL)
    if caught:
        shipped[caught[0]](caught[0], None)  # stop, then exit, as SecantusDB does


def apply_fixes() -> bool:
    """Patch the running SecantusDB when it is the version the fix was written for;
    whether it was applied."""
    import secantus
    from secantus.server import SecantusDBServer
    from secantus.storage import Storage
    from secantus.transactions import TransactionRegistry

    from clubpengu import secantus_indexes

    if getattr(secantus, "__version__", None) != FIXED_VERSION:
        print(
            f"clubpengu: SecantusDB {getattr(secantus, '__version__', '?')} is not "
            f"{FIXED_VERSION}; it runs as shipped, without Club Pengu's fixes",
            file=sys.stderr,
        )
        return False
    TransactionRegistry._prune_locked = _prune_skipping_busy
    SecantusDBServer.wait = _wait_polling
    for name, kept in zip(PROFILE_METHODS, (_get_profile_kept, _set_profile_kept), strict=True):
        _SHIPPED_PROFILE.setdefault(name, getattr(Storage, name))
        setattr(Storage, name, kept)
    secantus_indexes.install(Storage)
    return True


def _without_oplog() -> None:
    """The server's storage opened without an oplog, whatever its replica-set persona."""
    import secantus.server
    from secantus.storage import Storage

    class StorageWithoutOplog(Storage):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **{**kwargs, "enable_oplog": False})

    secantus.server.Storage = StorageWithoutOplog


def main(argv: list[str] | None = None) -> int:
    from secantus.cli import main as secantus_main

    args = list(sys.argv[1:] if argv is None else argv)
    fixed = apply_fixes()
    if NO_OPLOG in args:
        args.remove(NO_OPLOG)
        if fixed:
            _without_oplog()
    result: int = secantus_main(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
