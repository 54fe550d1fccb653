"""The database a command works on, chosen the same way by every command: MONGODB_URI
when it is set, else the embedded one in the data directory (`--data-dir`, else
CLUBPENGU_DATA_DIR): the running server's, or started for the command's duration.

Every command says on stderr which database it used, with any password masked. What a
command may find there is its `Access`: a command that only reads (or changes players
who must already exist) refuses a missing or empty database with exit 4 and creates
nothing, so that `ledger verify` pointed at the wrong directory can never report an
empty "OK"; only a command that starts a database (`import-saves`, `db create-users`)
may create one.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from enum import Enum
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from clubpengu.cli.common import ExitCode, Run, command_settings, configuration_error, fail
from clubpengu.config import ConfigError, Settings
from clubpengu.db import (
    STORAGE_SUBDIR,
    EmbeddedDatabase,
    embedded_uri,
    init_models,
    running_embedded_port,
)
from clubpengu.dbusers import stored_credentials
from clubpengu.errors import DomainError
from clubpengu.logs import configure_logging
from clubpengu.services.outside_notices import Outbox

Client = AsyncMongoClient[dict[str, Any]]
Database = AsyncDatabase[dict[str, Any]]
Command = Callable[[argparse.Namespace, Settings, Client], Awaitable[ExitCode]]
USERS = "users"
TRANSACTIONS = "transactions"


class Access(Enum):
    """What a command may find, and do, in its database."""

    READ = "read"  # reads only: the database must hold players; nothing is created
    WRITE = "write"  # changes what is there: the database must exist; missing indexes made
    CREATE = "create"  # may start a new database (an import into a fresh directory)


class NoDatabase(Exception):
    """The command's database is missing or empty; nothing was created."""


_PASSWORD = re.compile(r"^(mongodb(?:\+srv)?://[^:@/]*):[^@/]*@")
_SECRET_OPTION = re.compile(r"(?i)(authMechanismProperties=)[^&]*")


def masked_uri(uri: str) -> str:
    """The URI with its password (and any mechanism properties) replaced by ***."""
    return _SECRET_OPTION.sub(r"\1***", _PASSWORD.sub(r"\1:***@", uri))


def describe(settings: Settings) -> str:
    """Which database a command uses, as it prints it."""
    if settings.mongodb_uri:
        where = f"MONGODB_URI {masked_uri(settings.mongodb_uri)}"
    else:
        where = f"embedded database in {settings.data_dir.resolve()}"
    return f"database {settings.mongodb_db!r}, {where}"


def _embedded_exists(data_dir: Path) -> bool:
    storage = data_dir / STORAGE_SUBDIR
    return storage.is_dir() and any(storage.iterdir())


async def _check(db: Database, settings: Settings, access: Access) -> None:
    if access is Access.CREATE:
        return
    names = await db.list_collection_names()
    if USERS not in names:
        raise NoDatabase(
            f"{describe(settings)}: no such database (no {USERS} collection); nothing "
            "was created. Check MONGODB_URI, MONGODB_DB or --data-dir"
        )
    # Players or their ledger: once every player is erased, their tombstoned entries are
    # still there for `ledger verify` to check.
    if access is Access.READ and not any(
        [await db[name].find_one({}, {"_id": 1}) for name in (USERS, TRANSACTIONS)]
    ):
        raise NoDatabase(f"{describe(settings)}: the database holds no players and no ledger")


@contextlib.asynccontextmanager
async def cli_database(
    settings: Settings, role: str = "app", *, access: Access, init: bool = False
) -> AsyncIterator[Database]:
    """The game database for a command-line tool, after saying which it is on stderr.

    With MONGODB_URI, that (the operator picks the user). Otherwise the embedded database:
    the running server's, if one runs on the data directory, else started here for the
    command's duration; as the stored `role` user ("app" or "analyst") once
    `db create-users` has run. `init` binds the Beanie models and creates missing indexes
    (never for Access.READ, which writes nothing). Raises NoDatabase (see Access)."""
    print(f"clubpengu: using {describe(settings)}", file=sys.stderr)
    embedded = None
    if settings.mongodb_uri:
        uri = settings.mongodb_uri
    else:
        if access is not Access.CREATE and not _embedded_exists(settings.data_dir):
            raise NoDatabase(
                f"no database in {settings.data_dir.resolve()}; nothing was created. "
                "Point --data-dir (or CLUBPENGU_DATA_DIR) at the server's data directory, "
                "or set MONGODB_URI"
            )
        stored = stored_credentials(settings.data_dir)
        login: tuple[str | None, str | None] = (None, None)
        if stored is not None:
            login = (
                (stored.app_user, stored.app_password)
                if role == "app"
                else (stored.analyst_user, stored.analyst_password)
            )
        port = running_embedded_port(settings.data_dir)
        if port is None:
            embedded = EmbeddedDatabase(settings.data_dir, extra_args=["--auth"] if stored else [])
            embedded.start()
            port = embedded.port
        uri = embedded_uri(port, *login)
    client = _client(settings, uri)
    try:
        db = client[settings.mongodb_db]
        await _check(db, settings, access)
        if init and access is not Access.READ:
            await init_models(client, settings.mongodb_db)
        yield db
    finally:
        await client.close()
        if embedded is not None:
            embedded.stop()


# A command's own checks of its arguments, run once the settings are read and before any
# database is looked for: a line and an exit code, or None to go on.
Check = Callable[[argparse.Namespace], ExitCode | None]


def with_database(
    command: Command,
    access: Access = Access.WRITE,
    role: str = "app",
    *,
    init: bool = True,
    check: Check | None = None,
) -> Run:
    """Wrap an async command: settings (with --data-dir), its database (see Access), and
    one-line errors (a rule refused: exit 1; no database there: exit 4; the database
    failed: exit 3). The command's coin changes are left for the nodes to tell the
    players online (services/outside_notices.py)."""

    def run(args: argparse.Namespace) -> ExitCode:
        try:
            settings = command_settings(args)
        except ConfigError as error:
            return configuration_error(error)
        refused = check(args) if check is not None else None
        if refused is not None:
            return refused
        configure_logging("warning", settings.node_id)
        return asyncio.run(_run(command, args, settings, access, role, init))

    return run


async def _run(
    command: Command,
    args: argparse.Namespace,
    settings: Settings,
    access: Access,
    role: str,
    init: bool,
) -> ExitCode:
    try:
        async with cli_database(settings, role, access=access, init=init) as db:
            outbox = Outbox(db)
            args.outbox = outbox
            try:
                return await command(args, settings, db.client)
            finally:
                if outbox.pending:
                    await outbox.flush()
    except NoDatabase as error:
        return fail(str(error), ExitCode.NO_DATABASE)
    except DomainError as error:
        return fail(f"{error.code}: {error}", ExitCode.FAILURE)
    except PyMongoError as error:
        return fail(f"database error: {type(error).__name__}: {error}", ExitCode.UNAVAILABLE)


def _client(settings: Settings, uri: str) -> Client:
    """A client for one short command, with "poll" monitoring: the default streaming
    monitor opens a second (RTT) connection right after the first heartbeat, and closing
    the client while a connection is being opened leaks its socket in pymongo 4.20
    (PYTHON-5867), which a command of a few milliseconds would often do."""
    return AsyncMongoClient(
        uri,
        tz_aware=True,
        serverSelectionTimeoutMS=settings.mongo_server_selection_timeout_ms,
        socketTimeoutMS=settings.mongo_socket_timeout_ms,
        serverMonitoringMode="poll",
        appname="clubpengu/admin-cli",
    )
