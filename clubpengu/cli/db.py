"""`clubpengu db ...`: database administration from the command line."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from typing import Any

from pymongo import AsyncMongoClient

from clubpengu.cli.common import (
    Commands,
    ExitCode,
    add_actions,
    add_command,
    add_database_options,
    configuration_error,
    with_settings,
)
from clubpengu.cli.database import describe
from clubpengu.config import ConfigError, Settings
from clubpengu.db import EmbeddedDatabase, embedded_uri, make_client, running_embedded_port
from clubpengu.dbusers import (
    Credentials,
    create_users,
    embedded_credentials,
    store_credentials,
    stored_credentials,
)


def add_parser(commands: Commands) -> None:
    parser = add_command(
        commands,
        "db",
        "Administer the database.",
        "clubpengu db create-users --data-dir ./var/mongo",
    )
    actions = add_actions(parser, metavar="COMMAND", dest="db_command")
    users = add_command(
        actions,
        "create-users",
        "Create the application (readWrite) and analyst (read-only) database users.",
        "MONGODB_URI=mongodb://admin:...@db/ clubpengu db create-users",
    )
    add_database_options(users)
    users.set_defaults(func=with_settings(create_users_command))


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


def create_users_command(settings: Settings, args: argparse.Namespace) -> ExitCode:
    """Create (or update) the application and analyst database users."""
    print(f"clubpengu: using {describe(settings)}", file=sys.stderr)
    try:
        if settings.mongodb_uri:
            result = asyncio.run(_create_on_uri(settings))
        else:
            result = asyncio.run(_create_on_embedded(settings))
    except ConfigError as error:
        return configuration_error(error)
    for user, what in result.items():
        print(f"{what} database user {user}")
    if not settings.mongodb_uri:
        print(
            f"credentials kept in {settings.data_dir / 'db_users.json'} (mode 600); "
            "start the server with CLUBPENGU_DB_AUTH=true to use them"
        )
    return ExitCode.OK
