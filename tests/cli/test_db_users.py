"""Database users on a real server with authentication on: the analyst reads and can
write nothing; the application user writes and cannot manage users."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient, DeleteOne, InsertOne, MongoClient
from pymongo.errors import OperationFailure

from clubpengu.cli import main
from clubpengu.db import EmbeddedDatabase, init_models
from clubpengu.dbusers import stored_credentials
from clubpengu.models import ALL_MODELS
from tests.support import CLUBPENGU, serving

pytestmark = pytest.mark.slow
UNAUTHORIZED = 13


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, int]]:
    """A data directory whose users were made by `clubpengu db create-users`, and its
    database running with authentication on."""
    data_dir = tmp_path_factory.mktemp("secured") / "data"
    env = {"CLUBPENGU_DATA_DIR": str(data_dir), "MONGODB_DB": "clubpengu"}
    saved = {k: os.environ.get(k) for k in (*env, "MONGODB_URI")}
    os.environ.update(env)
    os.environ.pop("MONGODB_URI", None)
    try:
        assert main(["db", "create-users"]) == 0
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    database = EmbeddedDatabase(data_dir, extra_args=["--auth"])
    database.start()
    try:
        yield data_dir, database.port
    finally:
        database.stop()


def _client(port: int, user: str | None = None, password: str | None = None) -> MongoClient[Any]:
    credentials = f"{user}:{password}@" if user else ""
    return MongoClient(
        f"mongodb://{credentials}127.0.0.1:{port}/?directConnection=true&authSource=admin",
        serverSelectionTimeoutMS=3000,
    )


def _as(secured: tuple[Path, int], who: str) -> MongoClient[Any]:
    data_dir, port = secured
    credentials = stored_credentials(data_dir)
    assert credentials is not None
    if who == "app":
        return _client(port, credentials.app_user, credentials.app_password)
    return _client(port, credentials.analyst_user, credentials.analyst_password)


def test_the_credentials_file_is_private(secured: tuple[Path, int]) -> None:
    path = secured[0] / "db_users.json"

    assert path.stat().st_mode & 0o077 == 0


def test_the_app_user_creates_the_collections_and_writes(secured: tuple[Path, int]) -> None:
    data_dir, port = secured
    credentials = stored_credentials(data_dir)
    assert credentials is not None
    uri = (
        f"mongodb://{credentials.app_user}:{credentials.app_password}@127.0.0.1:{port}"
        "/?directConnection=true&authSource=admin"
    )

    async def init() -> None:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri)
        await init_models(client, "clubpengu")
        await client.close()

    asyncio.run(init())
    with _as(secured, "app") as app:
        for model in ALL_MODELS:
            app.clubpengu[model.get_collection_name()].insert_one({"probe": True})

        assert app.clubpengu.users.count_documents({"probe": True}) == 1


def test_the_analyst_reads_every_collection(secured: tuple[Path, int]) -> None:
    with _as(secured, "analyst") as analyst:
        for model in ALL_MODELS:
            analyst.clubpengu[model.get_collection_name()].find_one()
        names = analyst.clubpengu.list_collection_names()

    assert {m.get_collection_name() for m in ALL_MODELS} <= set(names)


WRITES: dict[str, Callable[[Any], object]] = {
    "insert": lambda c: c.insert_one({"x": 1}),
    "update": lambda c: c.update_one({}, {"$set": {"x": 2}}),
    "replace": lambda c: c.replace_one({}, {"x": 3}),
    "delete": lambda c: c.delete_many({}),
    "drop": lambda c: c.drop(),
    "createIndex": lambda c: c.create_index("x"),
    "dropIndex": lambda c: c.drop_index("walletAddress_1"),
    "aggregate $out": lambda c: list(c.aggregate([{"$out": "stolen"}])),
    "aggregate $merge": lambda c: list(c.aggregate([{"$merge": {"into": "stolen"}}])),
    "findAndModify": lambda c: c.find_one_and_update({}, {"$set": {"x": 4}}),
    "bulkWrite": lambda c: c.bulk_write([InsertOne({"x": 5}), DeleteOne({})]),
    "createCollection": lambda c: c.database.create_collection("stolen"),
    "renameCollection": lambda c: c.rename("stolen"),
}


@pytest.mark.parametrize("write", sorted(WRITES))
def test_the_analyst_cannot_write(secured: tuple[Path, int], write: str) -> None:
    with _as(secured, "analyst") as analyst, pytest.raises(OperationFailure) as error:
        WRITES[write](analyst.clubpengu.users)

    assert error.value.code == UNAUTHORIZED


def test_the_app_user_cannot_create_users(secured: tuple[Path, int]) -> None:
    with _as(secured, "app") as app, pytest.raises(OperationFailure) as error:
        app.admin.command("createUser", "intruder", pwd="pw", roles=["root"])

    assert error.value.code == UNAUTHORIZED


def test_without_credentials_nothing_is_readable(secured: tuple[Path, int]) -> None:
    with _client(secured[1]) as anonymous, pytest.raises(OperationFailure) as error:
        anonymous.clubpengu.users.find_one()

    assert error.value.code == UNAUTHORIZED


def test_serve_with_db_auth_connects_as_the_app_user(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = {**os.environ, "CLUBPENGU_DATA_DIR": str(data_dir)}
    env.pop("MONGODB_URI", None)
    created = subprocess.run(
        [str(CLUBPENGU), "db", "create-users"], env=env, capture_output=True, text=True, timeout=60
    )
    assert created.returncode == 0, created.stderr

    with serving(data_dir, {"CLUBPENGU_DB_AUTH": "true"}) as serve:
        log = serve.log()

    assert "embedded database ready" in log


def test_serve_with_db_auth_and_no_users_says_what_to_do(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "CLUBPENGU_DB_AUTH": "true"}

    result = subprocess.run(
        [str(CLUBPENGU), "serve", "--data-dir", str(tmp_path / "data")],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip

    assert result.returncode == 2
    assert "clubpengu db create-users" in result.stderr
