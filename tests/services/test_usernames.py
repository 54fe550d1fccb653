"""Unique usernames whatever their case (services/usernames.py, models/user.py): the
unique index, free names with numbered suffixes, a generated name drawn again on a clash,
and the start-up backfill of a database that holds duplicates."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.errors import DuplicateKeyError

from clubpengu.db import init_models
from clubpengu.models import User
from clubpengu.services.usernames import (
    USERNAME_INDEX,
    backfill_usernames,
    free_username,
    free_usernames,
)
from tests.conftest import TEST_DB
from tests.support import Wallet

Client = AsyncMongoClient[dict[str, Any]]


async def test_two_players_cannot_share_a_name_whatever_its_case() -> None:
    await User(wallet_address=Wallet().address, username="Waddles").insert()

    with pytest.raises(DuplicateKeyError):
        await User(wallet_address=Wallet().address, username="wADDLES").insert()

    assert await User.count() == 1


async def test_a_taken_wish_gets_the_first_free_number() -> None:
    users = User.get_pymongo_collection()
    for name in ("Waddles", "waddles2", "Waddles3"):
        await User(wallet_address=Wallet().address, username=name).insert()

    assert await free_username(users, "WADDLES") == "WADDLES4"
    assert await free_username(users, "Pebbles") == "Pebbles"
    assert await free_usernames(users, ["Waddles", "Pebbles", "pebbles"]) == [
        "Waddles4",
        "Pebbles",
        "pebbles2",
    ]


async def test_a_generated_name_that_is_taken_is_drawn_again(
    mongo_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from clubpengu.services import auth as auth_module
    from clubpengu.services.auth import AuthConfig, AuthService

    await User(wallet_address=Wallet().address, username="Penguin0001").insert()
    draws = iter([1, 1, 2])
    monkeypatch.setattr(
        auth_module, "default_username", lambda digits=4: f"Penguin{next(draws):04d}"
    )
    auth = AuthService(AuthConfig("test", timedelta(minutes=5), "s" * 40, timedelta(days=1)))
    wallet = Wallet().address

    user, is_new = await auth._upsert_user(wallet, "127.0.0.1")

    assert is_new and user.username == "Penguin0002"
    assert (await User.find_one(User.wallet_address == wallet)).username_lower == "penguin0002"  # type: ignore[union-attr]


async def test_the_backfill_renames_every_duplicate_but_the_oldest_once(
    mongo_client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    database = mongo_client[TEST_DB]
    users = database.users
    await users.drop_index(USERNAME_INDEX)
    old = datetime(2025, 1, 1, tzinfo=UTC)
    wallets = [Wallet().address for _ in range(5)]
    await users.insert_many(
        [
            {"walletAddress": wallets[0], "username": "bob", "createdAt": old + timedelta(days=2)},
            {"walletAddress": wallets[1], "username": "Bob", "createdAt": old},
            {"walletAddress": wallets[2], "username": "BOB", "createdAt": old + timedelta(days=1)},
            {"walletAddress": wallets[3], "username": "Bob2", "createdAt": old},
            {"walletAddress": wallets[4], "username": "Alice", "createdAt": old},
        ]
    )
    caplog.set_level(logging.WARNING)

    await init_models(mongo_client, TEST_DB)  # a start-up: backfill, then the indexes
    again = await backfill_usernames(database)  # a second start finds nothing to do

    names = {doc["walletAddress"]: doc["username"] async for doc in users.find()}
    assert names[wallets[1]] == "Bob"  # the oldest keeps its name
    assert names[wallets[2]] == "BOB3" and names[wallets[0]] == "bob4"
    assert names[wallets[3]] == "Bob2" and names[wallets[4]] == "Alice"
    lowered = [doc["usernameLower"] async for doc in users.find()]
    assert len(set(lowered)) == 5 and all(name == name.lower() for name in lowered)
    assert USERNAME_INDEX in await users.index_information()
    assert again == 0
    renames = [r for r in caplog.records if r.getMessage() == "duplicate username renamed"]
    assert len(renames) == 2
    assert wallets[0] not in caplog.text  # wallets are shortened in the log
