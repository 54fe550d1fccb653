"""The database: the embedded SecantusDB child process, the one client, and init_beanie.

With MONGODB_URI unset, `EmbeddedDatabase` runs `secantusd` (SecantusDB, a MongoDB
wire-protocol server on WiredTiger) as a child process on a free loopback port, with its
files in the data directory, and stops it on shutdown. The child is started in its own
session (a Ctrl-C in the terminal reaches only the server, which then shuts the database
down after it has flushed) and with PR_SET_PDEATHSIG, so the kernel kills it if the parent
dies without cleaning up; a pid file lets the next start reap one that survived anyway
(non-Linux hosts).

Which writes wait for the journal on the embedded database (docs/durability.md): its URI
asks for `journal=true`, so every write does unless it opts out with
`without_journal_wait` (presence, logs, counters: a kill -9 of the database may lose their
last tens of milliseconds). SecantusDB does not journal a transaction's commit on request,
so the ledger's transactions end with a `JournalBarrier`. The URI also turns retryable
writes off (docs/secantusdb-retryable-writes.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

from beanie import init_beanie
from pymongo import AsyncMongoClient, monitoring
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import OperationFailure
from pymongo.write_concern import WriteConcern

from clubpengu.config import Settings
from clubpengu.models import ALL_MODELS
from clubpengu.secantus_process import NO_OPLOG
from clubpengu.services.kept_on_user import backfill_kept_on_user
from clubpengu.services.usernames import FORMER_USERNAME_INDEX, backfill_usernames

logger = logging.getLogger(__name__)

OUR_SECANTUS = "clubpengu.secantus_process"
PID_FILE = "secantusd.pid"
PORT_FILE = "secantusd.port"
STORAGE_SUBDIR = "wiredtiger"
_PR_SET_PDEATHSIG = 1


class DatabaseStartError(RuntimeError):
    """The embedded database did not come up; the message says why."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _die_with_parent() -> None:  # runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _ping(uri: str, timeout_ms: int = 300) -> bool:
    from pymongo import MongoClient
    from pymongo.errors import PyMongoError

    client: MongoClient[dict[str, Any]] = MongoClient(
        uri, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms, directConnection=True
    )
    try:
        client.admin.command("ping")
        return True
    except PyMongoError:
        return False
    finally:
        client.close()


class EmbeddedDatabase:
    """Run SecantusDB as a child process on a free loopback port.

    `extra_args` lets test fixtures add `--enable-test-commands` (fail points); `serve`
    never does.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int | None = None,
        extra_args: Sequence[str] = (),
        startup_timeout: float = 30.0,
        module: str = OUR_SECANTUS,
    ) -> None:
        # `module`: what `python -m` runs. SecantusDB's own main with our fixes
        # (clubpengu/secantus_process.py); "secantus" runs it as shipped.
        self.module = module
        self.data_dir = data_dir
        self.port = port or free_port()
        self.extra_args = tuple(extra_args)
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def uri(self) -> str:
        return embedded_uri(self.port)

    def uri_for(self, user: str, password: str) -> str:
        return embedded_uri(self.port, user, password)

    @property
    def storage_path(self) -> Path:
        return (self.data_dir / STORAGE_SUBDIR).resolve()

    @property
    def pid_file(self) -> Path:
        return self.data_dir / PID_FILE

    def _ours(self) -> tuple[str, ...]:
        """Our process's own options: `--no-oplog` (the replica set without its oplog,
        clubpengu/secantus_process.py says why); SecantusDB as shipped has none."""
        return (NO_OPLOG,) if self.module == OUR_SECANTUS else ()

    def start(self) -> str:
        storage = self.storage_path
        storage.mkdir(parents=True, exist_ok=True)
        self._reap_stale()
        command = [
            sys.executable, "-m", self.module,
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--storage-path", str(storage),
            "--log-level", "WARNING",
            *self._ours(),
            # No --sync-on-commit: it flushed the journal on every commit of every write,
            # each statement of a bulk write included (a stats flush of 1,000 players was
            # 1,000 fsyncs). Writes that must survive a kill -9 of the database ask for it
            # with `j: true` (the URI's default), which SecantusDB honours per write.
            *self.extra_args,
        ]  # fmt: skip
        log = open(self.data_dir / "secantusd.log", "ab")  # noqa: SIM115 - owned by the child
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        log.close()
        self.pid_file.write_text(str(self.process.pid))
        self._wait_until_ready()
        # Lets command-line tools reach the database of a running server (WiredTiger
        # allows one process per data directory).
        (self.data_dir / PORT_FILE).write_text(str(self.port))
        logger.info("embedded database ready", extra={"port": self.port, "pid": self.process.pid})
        return self.uri

    def _wait_until_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise DatabaseStartError(
                    f"embedded database exited with code {self.process.returncode}; "
                    f"see {self.data_dir / 'secantusd.log'}"
                )
            if _ping(self.uri):
                return
            time.sleep(0.05)
        self.stop()
        raise DatabaseStartError(
            f"embedded database did not answer ping within {self.startup_timeout:.0f} s"
        )

    def _reap_stale(self) -> None:
        """Stop a database child that an earlier, killed server left running here."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return
        if b"secantus" in cmdline and str(self.storage_path).encode() in cmdline:
            logger.warning("stopping a stale embedded database", extra={"pid": pid})
            _terminate_pid(pid)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the database (SIGTERM), killing it after `timeout` seconds."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            self._wake_accept(process)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for name in (PID_FILE, PORT_FILE):
            with contextlib.suppress(OSError):
                (self.data_dir / name).unlink()

    def _wake_accept(self, process: subprocess.Popen[bytes]) -> None:
        """SecantusDB's stop closes its listening socket and then waits up to 2 s for its
        accept thread, which closing the socket does not wake on Linux: one connection
        made (and dropped) while it stops does, so an idle stop takes milliseconds."""
        for _ in range(3):
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2),
            ):
                pass
            try:
                process.wait(0.05)
                return
            except subprocess.TimeoutExpired:
                continue

    def __enter__(self) -> EmbeddedDatabase:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def embedded_uri(port: int, user: str | None = None, password: str | None = None) -> str:
    """The URI of an embedded database. `journal=true`: a write is acknowledged once it is
    in the journal, unless it says otherwise (`without_journal_wait`). `retryWrites=false`:
    SecantusDB keeps a record of every retryable write for 30 minutes and scans (past
    10,000 of them, sorts) them all on every write, which slowed single writes tenfold
    after ~12,000 of them; on a loopback child the driver's one retry buys little, and the
    ledger's idempotency keys and transaction runner give exactly-once where it matters."""
    credentials = ""
    if user is not None and password is not None:
        credentials = f"{quote_plus(user)}:{quote_plus(password)}@"
    suffix = "&authSource=admin" if credentials else ""
    options = "directConnection=true&retryWrites=false&journal=true"
    return f"mongodb://{credentials}127.0.0.1:{port}/?{options}{suffix}"


def running_embedded_port(data_dir: Path) -> int | None:
    """The port of an embedded database a server is running on `data_dir`, if any."""
    try:
        pid = int((data_dir / PID_FILE).read_text().strip())
        port = int((data_dir / PORT_FILE).read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return port


def _terminate_pid(pid: int, timeout: float = 10.0) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            os.kill(pid, 0)
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)


def make_client(
    settings: Settings, uri: str, listeners: Sequence[monitoring.CommandListener] = ()
) -> AsyncMongoClient[dict[str, Any]]:
    """The process's one client, with the seed's pool settings; `listeners` see every
    command (the metrics' latency histogram)."""
    return AsyncMongoClient(
        uri,
        event_listeners=list(listeners),
        maxPoolSize=settings.mongo_max_pool_size,
        minPoolSize=settings.mongo_min_pool_size,
        serverSelectionTimeoutMS=settings.mongo_server_selection_timeout_ms,
        socketTimeoutMS=settings.mongo_socket_timeout_ms,
        tz_aware=True,
        appname=f"clubpengu/{settings.node_id}",
    )


Collection = AsyncCollection[dict[str, Any]]


def without_journal_wait(collection: Collection) -> Collection:
    """`collection` with `j: false` in its write concern (the rest of it kept): for writes
    that may be lost to a kill -9 of the database (presence, logs, counters), so they do
    not wait for a journal flush each. Unchanged when the client does not ask for the
    journal (a replica set's `w: majority` journals anyway)."""
    concern = collection.write_concern.document
    if not concern.get("j"):
        return collection
    return collection.with_options(write_concern=WriteConcern(**{**concern, "j": False}))


BARRIER_COLLECTION = "journal_barrier"
_BARRIER_ID = "barrier"


class JournalBarrier:
    """`await wait()` returns once every write this process had acknowledged before the call
    is in the database's journal.

    For SecantusDB, which journals a transaction's commit only with --sync-on-commit (for
    every write) and ignores the commit's `j: true`: one journaled write (`$inc` of one
    document in `journal_barrier`) flushes the journal up to itself, and the journal is
    written in order, so every commit acknowledged before it started is covered. Callers
    that arrive while a barrier write is in flight share the next one (started after it),
    so under load one write covers many commits. Raises PyMongoError when the write fails.
    """

    def __init__(self, collection: Collection) -> None:
        self._collection = collection.with_options(write_concern=WriteConcern(j=True))
        self._next: asyncio.Future[None] | None = None  # the round not started yet
        self._writer: asyncio.Task[None] | None = None
        self.writes = 0

    async def wait(self) -> None:
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
        round_ = self._next
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_rounds(), name="journal-barrier")
        # Shielded: a caller that gives up must not cancel the round the others wait for.
        await asyncio.shield(round_)

    async def _write_rounds(self) -> None:
        while self._next is not None:
            round_, self._next = self._next, None
            try:
                await self._collection.update_one(
                    {"_id": _BARRIER_ID}, {"$inc": {"writes": 1}}, upsert=True
                )
            except asyncio.CancelledError:
                round_.cancel()
                raise
            except Exception as error:
                round_.set_exception(error)
                round_.exception()  # retrieved: a round nobody awaits any more is no error
            else:
                self.writes += 1
                round_.set_result(None)


def journal_barrier(
    client: AsyncMongoClient[dict[str, Any]], db_name: str
) -> JournalBarrier | None:
    """A barrier for `client` when it asks for journaled writes (the embedded database's URI
    does), else None: MongoDB journals a transaction with its `w: majority` commit."""
    if not client.write_concern.document.get("j"):
        return None
    return JournalBarrier(client[db_name][BARRIER_COLLECTION])


# Indexes earlier versions created that no query uses any more (see the models'
# docstrings); each one cost every insert. Beanie only creates indexes, so they are
# dropped here, by name, on databases that still have them.
OBSOLETE_INDEXES: tuple[tuple[str, str], ...] = (
    ("users", "username_1"),
    ("transactions", "walletAddress_1"),
    ("transactions", "by_type"),
    ("audit_logs", "by_action"),  # replaced by by_action_page, which pages by _id
    ("users", "by_username_lower"),  # replaced by the unique username_lower
    # The partial unique index on names, replaced by the sparse USERNAME_INDEX (built just
    # before this drop, so names stay unique throughout; models/user.py says why).
    ("users", FORMER_USERNAME_INDEX),
)
_NOTHING_TO_DROP = {26, 27}  # NamespaceNotFound, IndexNotFound


async def init_models(client: AsyncMongoClient[dict[str, Any]], db_name: str) -> None:
    """Bind every Beanie model to `db_name`, create their indexes and drop obsolete ones.
    Usernames are made unique first, where the unique index is not there yet; what the
    User keeps of puffles and matches is filled in where it is missing."""
    await backfill_usernames(client[db_name])
    await init_beanie(database=client[db_name], document_models=list(ALL_MODELS))
    await backfill_kept_on_user(client[db_name])
    for collection, index in OBSOLETE_INDEXES:
        try:
            await client[db_name][collection].drop_index(index)
        except OperationFailure as error:
            # Already gone (or never made): nothing to do. Anything else is a real problem.
            if error.code not in _NOTHING_TO_DROP:
                raise
        else:
            logger.info("obsolete index dropped", extra={"collection": collection, "index": index})
