"""The database: the embedded SecantusDB child process, the one client, and init_beanie.

With MONGODB_URI unset, `EmbeddedDatabase` runs `secantusd` (SecantusDB, a MongoDB
wire-protocol server on WiredTiger) as a child process on a free loopback port, with its
files in the data directory, and stops it on shutdown. It flushes its journal on every
commit, so a write it acknowledged survives the process being killed. The child is
started in its own session (a Ctrl-C in the terminal reaches only the server, which then
shuts the database down after it has flushed) and with PR_SET_PDEATHSIG, so the kernel
kills it if the parent dies without cleaning up; a pid file lets the next start reap one
that survived anyway (non-Linux hosts).
"""

from __future__ import annotations

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
from pymongo.errors import OperationFailure

from clubpengu.config import Settings
from clubpengu.models import ALL_MODELS
from clubpengu.services.usernames import backfill_usernames

logger = logging.getLogger(__name__)

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
    ) -> None:
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

    def start(self) -> str:
        storage = self.storage_path
        storage.mkdir(parents=True, exist_ok=True)
        self._reap_stale()
        command = [
            sys.executable, "-m", "secantus",
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--storage-path", str(storage),
            "--log-level", "WARNING",
            # Flush the journal before a commit is acknowledged. Without it WiredTiger
            # keeps the last commits in its own buffer, and a killed database process
            # lost the ledger entries and balances it had acknowledged in the last tens
            # of milliseconds (tests/chaos). A replica set gets the same from w:majority.
            "--sync-on-commit",
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
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for name in (PID_FILE, PORT_FILE):
            with contextlib.suppress(OSError):
                (self.data_dir / name).unlink()

    def __enter__(self) -> EmbeddedDatabase:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def embedded_uri(port: int, user: str | None = None, password: str | None = None) -> str:
    credentials = ""
    if user is not None and password is not None:
        credentials = f"{quote_plus(user)}:{quote_plus(password)}@"
    suffix = "&authSource=admin" if credentials else ""
    return f"mongodb://{credentials}127.0.0.1:{port}/?directConnection=true{suffix}"


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


# Indexes earlier versions created that no query uses any more (see the models'
# docstrings); each one cost every insert. Beanie only creates indexes, so they are
# dropped here, by name, on databases that still have them.
OBSOLETE_INDEXES: tuple[tuple[str, str], ...] = (
    ("users", "username_1"),
    ("transactions", "walletAddress_1"),
    ("transactions", "by_type"),
    ("audit_logs", "by_action"),  # replaced by by_action_page, which pages by _id
    ("users", "by_username_lower"),  # replaced by the unique username_lower
)
_NOTHING_TO_DROP = {26, 27}  # NamespaceNotFound, IndexNotFound


async def init_models(client: AsyncMongoClient[dict[str, Any]], db_name: str) -> None:
    """Bind every Beanie model to `db_name`, create their indexes and drop obsolete ones.
    Usernames are made unique first, where the unique index is not there yet."""
    await backfill_usernames(client[db_name])
    await init_beanie(database=client[db_name], document_models=list(ALL_MODELS))
    for collection, index in OBSOLETE_INDEXES:
        try:
            await client[db_name][collection].drop_index(index)
        except OperationFailure as error:
            # Already gone (or never made): nothing to do. Anything else is a real problem.
            if error.code not in _NOTHING_TO_DROP:
                raise
        else:
            logger.info("obsolete index dropped", extra={"collection": collection, "index": index})
