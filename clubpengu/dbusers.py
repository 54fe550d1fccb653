"""Database users (seed 000 §1.1): an application user with `readWrite` on the game
database and an analyst user with `read` only.

On a real MongoDB (MONGODB_URI) the operator's URI must carry a user allowed to manage
users; passwords come from the environment (MONGODB_APP_PASSWORD,
MONGODB_ANALYST_PASSWORD) or a prompt. On the embedded database the passwords are
generated when not given and kept, with an administrator's, in `db_users.json` in the
data directory (mode 0600), so `CLUBPENGU_DB_AUTH=true clubpengu serve` needs nothing else.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.errors import OperationFailure

from clubpengu.config import ConfigError, Settings

USERS_FILE = "db_users.json"
ADMIN_USER = "clubpengu_admin"
USER_NOT_FOUND = 11
USER_EXISTS = 51003


@dataclass(frozen=True)
class Credentials:
    admin_user: str | None
    admin_password: str | None
    app_user: str
    app_password: str
    analyst_user: str
    analyst_password: str


def stored_credentials(data_dir: Path) -> Credentials | None:
    path = data_dir / USERS_FILE
    if not path.is_file():
        return None
    return Credentials(**json.loads(path.read_text()))


def store_credentials(data_dir: Path, credentials: Credentials) -> Path:
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / USERS_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(asdict(credentials), handle, indent=2)
    return path


def embedded_credentials(settings: Settings, existing: Credentials | None) -> Credentials:
    """Passwords from the environment, else the stored ones, else new random ones."""

    def pick(given: str | None, stored: str | None) -> str:
        return given or stored or secrets.token_urlsafe(24)

    return Credentials(
        admin_user=ADMIN_USER,
        admin_password=pick(None, existing.admin_password if existing else None),
        app_user=settings.db_app_user,
        app_password=pick(settings.db_app_password, existing.app_password if existing else None),
        analyst_user=settings.db_analyst_user,
        analyst_password=pick(
            settings.db_analyst_password, existing.analyst_password if existing else None
        ),
    )


def app_login(settings: Settings) -> tuple[str, str]:
    """The application user's name and password for `serve` with CLUBPENGU_DB_AUTH."""
    if settings.db_app_password:
        return settings.db_app_user, settings.db_app_password
    stored = stored_credentials(settings.data_dir)
    if stored is None:
        raise ConfigError(
            "CLUBPENGU_DB_AUTH: no database users yet; run `clubpengu db create-users` first"
        )
    return stored.app_user, stored.app_password


async def _upsert_user(
    client: AsyncMongoClient[dict[str, Any]], user: str, password: str, roles: list[Any]
) -> str:
    admin = client.admin
    try:
        await admin.command("createUser", user, pwd=password, roles=roles)
        return "created"
    except OperationFailure as error:
        if error.code != USER_EXISTS and "already exists" not in str(error):
            raise
    await admin.command("updateUser", user, pwd=password, roles=roles)
    return "updated"


async def create_users(
    client: AsyncMongoClient[dict[str, Any]], db_name: str, credentials: Credentials
) -> dict[str, str]:
    """Create or update the users; returns what happened to each."""
    done: dict[str, str] = {}
    if credentials.admin_user and credentials.admin_password:
        done[credentials.admin_user] = await _upsert_user(
            client, credentials.admin_user, credentials.admin_password,
            [{"role": "root", "db": "admin"}],
        )  # fmt: skip
    done[credentials.app_user] = await _upsert_user(
        client, credentials.app_user, credentials.app_password,
        [{"role": "readWrite", "db": db_name}],
    )  # fmt: skip
    done[credentials.analyst_user] = await _upsert_user(
        client, credentials.analyst_user, credentials.analyst_password,
        [{"role": "read", "db": db_name}],
    )  # fmt: skip
    return done
