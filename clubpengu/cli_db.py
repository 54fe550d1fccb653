"""`clubpengu db ...`: database administration from the command line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import sys
from collections.abc import AsyncIterator
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from clubpengu.config import ConfigError, Settings
from clubpengu.db import (
    EmbeddedDatabase,
    embedded_uri,
    init_models,
    make_client,
    running_embedded_port,
)
from clubpengu.dbusers import (
    Credentials,
    create_users,
    embedded_credentials,
    store_credentials,
    stored_credentials,
)


def _password(value: str | None, variable: str) -> str:
    if value:
        return value
    if sys.stdin.isatty():
        entered = getpass.getpass(f"{variable}: ")
        if entered:
            return entered
    raise ConfigError(f"{variable}: required to create database users on MONGODB_URI")


async def _run_on(
    client: AsyncMongoClient[dict[str, Any]], settings: Settings, c: Credentials
) -> dict[str, str]:
    try:
        return await create_users(client, settings.mongodb_db, c)
    finally:
        await client.close()


async def _create_on_uri(settings: Settings) -> dict[str, str]:
    assert settings.mongodb_uri is not None
    credentials = Credentials(
        admin_user=None,
        admin_password=None,
        app_user=settings.db_app_user,
        app_password=_password(settings.db_app_password, "MONGODB_APP_PASSWORD"),
        analyst_user=settings.db_analyst_user,
        analyst_password=_password(settings.db_analyst_password, "MONGODB_ANALYST_PASSWORD"),
    )
    return await _run_on(make_client(settings, settings.mongodb_uri), settings, credentials)


async def _create_on_embedded(settings: Settings) -> dict[str, str]:
    existing = stored_credentials(settings.data_dir)
    credentials = embedded_credentials(settings, existing)
    admin = (existing.admin_user, existing.admin_password) if existing else (None, None)
    port = running_embedded_port(settings.data_dir)
    database = None
    if port is None:
        # Auth stays off until the first users exist (MongoDB's localhost exception).
        database = EmbeddedDatabase(settings.data_dir, extra_args=["--auth"] if existing else [])
        database.start()
        port = database.port
    try:
        client = make_client(settings, embedded_uri(port, *admin))
        result = await _run_on(client, settings, credentials)
    finally:
        if database is not None:
            database.stop()
    store_credentials(settings.data_dir, credentials)
    return result


def create_users_command(settings: Settings, args: argparse.Namespace) -> int:
    """Create (or update) the application and analyst database users."""
    try:
        if settings.mongodb_uri:
            result = asyncio.run(_create_on_uri(settings))
        else:
            result = asyncio.run(_create_on_embedded(settings))
    except ConfigError as error:
        print(f"clubpengu: configuration error: {error}", file=sys.stderr)
        return 2
    for user, what in result.items():
        print(f"{what} database user {user}")
    if not settings.mongodb_uri:
        print(
            f"credentials kept in {settings.data_dir / 'db_users.json'} (mode 600); "
            "start the server with CLUBPENGU_DB_AUTH=true to use them"
        )
    return 0


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
