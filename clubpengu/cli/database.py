"""The database a command works on: MONGODB_URI when it is set, else the embedded one in
the data directory (the running server's, or started for the command's duration)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from clubpengu.cli.common import ExitCode, Run, configuration_error, fail
from clubpengu.config import ConfigError, Settings, load_settings
from clubpengu.db import (
    EmbeddedDatabase,
    embedded_uri,
    init_models,
    make_client,
    running_embedded_port,
)
from clubpengu.dbusers import stored_credentials
from clubpengu.errors import DomainError

Client = AsyncMongoClient[dict[str, Any]]
Command = Callable[[argparse.Namespace, Settings, Client], Awaitable[ExitCode]]


@contextlib.asynccontextmanager
async def cli_database(
    settings: Settings, role: str = "app", *, init: bool = False
) -> AsyncIterator[AsyncDatabase[dict[str, Any]]]:
    """The game database for a command-line tool.

    With MONGODB_URI, that (the operator picks the user). Otherwise the embedded database:
    the running server's, if one runs on the data directory, else started here for the
    command's duration; as the stored `role` user ("app" or "analyst") once
    `db create-users` has run. `init` binds the Beanie models (for service code)."""
    embedded = None
    if settings.mongodb_uri:
        uri = settings.mongodb_uri
    else:
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
    client = make_client(settings, uri)
    try:
        if init:
            await init_models(client, settings.mongodb_db)
        yield client[settings.mongodb_db]
    finally:
        await client.close()
        if embedded is not None:
            embedded.stop()


def with_database(command: Command) -> Run:
    """Wrap an async command: settings, a connection with indexes, one-line errors (a rule
    refused: exit 1; the database failed: exit 3)."""

    def run(args: argparse.Namespace) -> ExitCode:
        try:
            settings = load_settings()
        except ConfigError as error:
            return configuration_error(error)
        if settings.mongodb_uri is None:
            return asyncio.run(_embedded(command, args, settings))
        return asyncio.run(_connected(command, args, settings))

    return run


async def _embedded(command: Command, args: argparse.Namespace, settings: Settings) -> ExitCode:
    """Without MONGODB_URI: the embedded database in CLUBPENGU_DATA_DIR (the running
    server's, or started for this command)."""
    try:
        async with cli_database(settings, role="app", init=True) as db:
            return await command(args, settings, db.client)
    except DomainError as error:
        return fail(f"{error.code}: {error}", ExitCode.FAILURE)
    except PyMongoError as error:
        return fail(f"database error: {type(error).__name__}: {error}", ExitCode.UNAVAILABLE)


async def _connected(command: Command, args: argparse.Namespace, settings: Settings) -> ExitCode:
    client = _client(settings)
    try:
        await init_models(client, settings.mongodb_db)
        return await command(args, settings, client)
    except DomainError as error:
        return fail(f"{error.code}: {error}", ExitCode.FAILURE)
    except PyMongoError as error:
        return fail(f"database error: {type(error).__name__}: {error}", ExitCode.UNAVAILABLE)
    finally:
        await client.close()


def _client(settings: Settings) -> Client:
    """A client for one short command, with "poll" monitoring: the default streaming
    monitor opens a second (RTT) connection right after the first heartbeat, and closing
    the client while a connection is being opened leaks its socket in pymongo 4.20
    (PYTHON-5867), which a command of a few milliseconds would often do."""
    assert settings.mongodb_uri is not None
    return AsyncMongoClient(
        settings.mongodb_uri,
        tz_aware=True,
        serverSelectionTimeoutMS=settings.mongo_server_selection_timeout_ms,
        socketTimeoutMS=settings.mongo_socket_timeout_ms,
        serverMonitoringMode="poll",
        appname="clubpengu/admin-cli",
    )
