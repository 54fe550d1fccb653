"""The embedded database's process (clubpengu/secantus_process.py): SecantusDB's transaction
reaper passes over a transaction in use instead of waiting for it, and still reaps one
idle past its lifetime; the fix applies to the pinned version only, and the embedded
database runs with it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import secantus
from secantus.storage import Storage
from secantus.transactions import Transaction, TransactionRegistry, TxnState

from clubpengu import secantus_indexes, secantus_process
from clubpengu.db import EmbeddedDatabase
from tests.support import fixes_applied


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fixed() -> Iterator[None]:
    """The fixes applied in this process, for the test; SecantusDB as shipped after it."""
    with fixes_applied():
        yield


def _registry(clock: Clock) -> tuple[TransactionRegistry, list[Transaction]]:
    rolled_back: list[Transaction] = []
    registry = TransactionRegistry(
        rollback_func=rolled_back.append, lifetime_seconds=60, time_func=clock
    )
    return registry, rolled_back


def _begin(registry: TransactionRegistry, session: bytes) -> Transaction:
    txn, error = registry.for_statement(session, None, 1, start=True)
    assert error is None and txn is not None
    return txn


def test_a_statement_is_not_held_up_by_another_transaction_in_use(fixed: None) -> None:
    clock = Clock()
    registry, _ = _registry(clock)
    busy = _begin(registry, b"a")
    held, release = threading.Event(), threading.Event()

    def running_a_statement() -> None:  # as the command layer does, for as long as it runs
        with busy.mutex:
            held.set()
            release.wait()

    statement = threading.Thread(target=running_a_statement)
    statement.start()
    assert held.wait(5)
    began: list[Transaction] = []
    other = threading.Thread(target=lambda: began.append(_begin(registry, b"b")))
    other.start()
    other.join(5)  # the shipped reaper waits here until the statement above ends
    finished_while_busy = not other.is_alive()
    release.set()
    statement.join(5)
    other.join(5)

    assert finished_while_busy
    assert busy.state is TxnState.IN_PROGRESS  # in use: not reaped, whatever its age


def test_a_transaction_idle_past_its_lifetime_is_still_reaped(fixed: None) -> None:
    clock = Clock()
    registry, rolled_back = _registry(clock)
    idle = _begin(registry, b"a")
    clock.now += 61

    _begin(registry, b"b")  # any statement sweeps

    assert idle.state is TxnState.ABORTED and rolled_back == [idle]


def test_the_fix_is_for_the_pinned_version_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """A new SecantusDB runs as shipped until someone reads the fix against it again."""
    shipped = TransactionRegistry._prune_locked
    updates = {name: getattr(Storage, name) for name in secantus_indexes.UPDATE_METHODS}
    monkeypatch.setattr(secantus, "__version__", "0.8.0")

    assert not secantus_process.apply_fixes()
    assert TransactionRegistry._prune_locked is shipped
    assert {name: getattr(Storage, name) for name in updates} == updates
    assert not hasattr(Storage, "_rewrite_index_entries")


def test_the_pinned_version_is_the_one_the_fix_was_written_for() -> None:
    assert secantus.__version__ == secantus_process.FIXED_VERSION


def test_the_embedded_database_runs_with_the_fix(tmp_path: Path) -> None:
    with EmbeddedDatabase(tmp_path) as database:
        assert database.process is not None
        assert "clubpengu.secantus_process" in database.process.args


def test_the_wait_takes_no_lock_a_stop_from_a_signal_handler_needs(fixed: None) -> None:
    """The database's main thread waits for a stop that its SIGTERM handler, on the same
    thread, makes: the wait must not hold the stop event's lock, or a signal landing then
    blocks the handler for ever. Here another thread holds that lock while the stop comes;
    the shipped wait (`Event.wait`) would block on it."""
    from secantus.server import SecantusDBServer

    class Server:
        _stop_event = threading.Event()

    server = Server()
    held = server._stop_event._cond  # type: ignore[attr-defined]
    held.acquire()
    try:
        threading.Timer(0.2, lambda: setattr(server._stop_event, "_flag", True)).start()
        waiting = threading.Thread(target=SecantusDBServer.wait, args=(server,), daemon=True)
        waiting.start()
        waiting.join(5)
        assert not waiting.is_alive()
    finally:
        held.release()


def test_profiling_settings_are_read_once_and_every_change_is_seen(
    fixed: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The settings come from memory after the first read (the shipped code read them from
    WiredTiger after every command), and a `profile` command is seen by the next command:
    level 2 records every command, level 0 none again."""
    from pymongo import MongoClient
    from secantus.server import SecantusDBServer

    reads: list[str] = []
    shipped = secantus_process._SHIPPED_PROFILE["get_profile"]

    def counted(self: Storage, db: str) -> dict[str, object]:
        reads.append(db)
        return shipped(self, db)  # type: ignore[no-any-return]

    monkeypatch.setitem(secantus_process._SHIPPED_PROFILE, "get_profile", counted)
    server = SecantusDBServer(port=0, storage_path=str(tmp_path / "db"))
    server.start()
    client: MongoClient[dict[str, object]] = MongoClient(server.uri)
    try:
        coll = client.t.m
        for n in range(20):
            coll.insert_one({"n": n})
        assert reads.count("t") == 1
        client.t.command("profile", 2)
        coll.find_one({"n": 3})
        recorded = list(client.t["system.profile"].find({"ns": "t.m"}))
        assert any(entry.get("op") == "query" for entry in recorded), recorded
        client.t.command("profile", 0)
        before = client.t["system.profile"].count_documents({})
        for n in range(5):
            coll.find_one({"n": n})
        assert client.t["system.profile"].count_documents({}) == before
        assert client.t.command("profile", -1)["was"] == 0
    finally:
        client.close()
        server.stop()


@pytest.mark.parametrize("module", ["clubpengu.secantus_process", "secantus"])
def test_the_embedded_database_keeps_no_oplog_and_stays_a_replica_set(
    tmp_path: Path, module: str
) -> None:
    """The node's database plays a replica set as production's does (the driver retries
    writes and commits as it would there) but writes no oplog entry; SecantusDB as
    shipped writes one per document. Transactions commit and abort as one either way."""
    from pymongo import MongoClient

    with EmbeddedDatabase(tmp_path, module=module) as database:
        client: MongoClient[dict[str, object]] = MongoClient(database.uri)
        try:
            assert client.admin.command("hello")["setName"] == "secantus"
            coll = client.t.m
            coll.insert_one({"_id": 0})
            with client.start_session() as session:
                session.start_transaction()
                coll.insert_one({"_id": 1}, session=session)
                coll.update_one({"_id": 0}, {"$set": {"seen": True}}, session=session)
                session.abort_transaction()
                with session.start_transaction():
                    coll.insert_one({"_id": 2}, session=session)
                    coll.update_one({"_id": 0}, {"$set": {"kept": True}}, session=session)
            assert list(coll.find({}, sort=[("_id", 1)])) == [{"_id": 0, "kept": True}, {"_id": 2}]
            logged = client.local["oplog.rs"].count_documents({"ns": "t.m"})
        finally:
            client.close()
    assert (logged == 0) == (module == "clubpengu.secantus_process"), logged
