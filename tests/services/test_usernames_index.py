"""The unique index on names (models/user.py): the look-ups by name walk it, never the
collection, and a database that still has the partial index it replaced is moved onto it
at start-up without ever letting two players share a name."""

from __future__ import annotations

from typing import Any

import pytest
from pymongo import ASCENDING, AsyncMongoClient
from pymongo.errors import DuplicateKeyError

from clubpengu.db import init_models
from clubpengu.models import User
from clubpengu.services.staff import prefix_search
from clubpengu.services.usernames import (
    FORMER_USERNAME_INDEX,
    USERNAME_INDEX,
    free_usernames,
    is_username_clash,
    taken,
)
from tests.conftest import TEST_DB
from tests.support import Wallet

Client = AsyncMongoClient[dict[str, Any]]
NAMES = [f"Penguin{n:04d}" for n in range(60)]


async def _named(*names: str) -> None:
    for name in names:
        await User(wallet_address=Wallet().address, username=name).insert()


def _walks_the_index(plan: dict[str, Any]) -> bool:
    text = str(plan["queryPlanner"]["winningPlan"])
    return "IXSCAN" in text and USERNAME_INDEX in text and "COLLSCAN" not in text


@pytest.mark.parametrize(
    "query",
    [
        {"usernameLower": {"$in": ["penguin0003", "penguin0040", "nobody"]}},
        {"usernameLower": "penguin0003"},
        {"usernameLower": {"$eq": "penguin0003"}},
    ],
)
async def test_a_look_up_by_name_walks_the_unique_index(
    mongo_client: Client, query: dict[str, Any]
) -> None:
    await _named(*NAMES)
    users = mongo_client[TEST_DB].users

    plan = await users.find(query, {"usernameLower": 1, "_id": 0}).explain()

    assert _walks_the_index(plan), plan["queryPlanner"]["winningPlan"]


async def test_a_database_with_the_partial_index_moves_onto_the_new_one_at_start_up(
    mongo_client: Client,
) -> None:
    users = mongo_client[TEST_DB].users
    await users.drop_index(USERNAME_INDEX)
    await users.create_index(
        [("usernameLower", ASCENDING)],
        name=FORMER_USERNAME_INDEX,
        unique=True,
        partialFilterExpression={"usernameLower": {"$type": "string"}},
    )
    await _named(*NAMES[:10])
    # What the partial index let through: users without a name key, or a null one.
    await users.insert_many(
        [
            {"walletAddress": Wallet().address, "username": "Pebbles"},
            {"walletAddress": Wallet().address, "username": "Flipper", "usernameLower": None},
            {"walletAddress": Wallet().address, "username": "Skua", "usernameLower": None},
            # Written by hand with no name at all, or a null one: named at start-up.
            {"walletAddress": "nameless-1"},
            {"walletAddress": "nameless-2"},
            {"walletAddress": "nameless-3", "username": None, "usernameLower": None},
        ]
    )

    await init_models(mongo_client, TEST_DB)  # a start-up
    await init_models(mongo_client, TEST_DB)  # and another: nothing left to do

    indexes = await users.index_information()
    assert FORMER_USERNAME_INDEX not in indexes
    assert indexes[USERNAME_INDEX]["unique"] and indexes[USERNAME_INDEX]["sparse"]
    keys = {doc["username"]: doc["usernameLower"] async for doc in users.find()}
    assert (keys["Pebbles"], keys["Flipper"], keys["Skua"]) == ("pebbles", "flipper", "skua")
    given = [doc async for doc in users.find({"walletAddress": {"$regex": "^nameless-"}})]
    assert len({doc["usernameLower"] for doc in given}) == 3
    for doc in given:
        assert doc["username"].startswith("Penguin")
        assert doc["usernameLower"] == doc["username"].lower()
        User.model_validate(doc)  # readable now

    with pytest.raises(DuplicateKeyError) as clash:
        await User(wallet_address=Wallet().address, username="PENGUIN0003").insert()
    assert is_username_clash(clash.value)
    with pytest.raises(DuplicateKeyError) as raw_clash:
        await users.insert_one({"walletAddress": Wallet().address, "usernameLower": "flipper"})
    assert is_username_clash(raw_clash.value)
    assert await free_usernames(users, ["penguin0003", "Pebbles"]) == ["penguin00032", "Pebbles2"]
    assert await taken(users, ["PEBBLES", "Penguin0009", "Nobody"]) == {"pebbles", "penguin0009"}

    named = await prefix_search(users, "usernameLower", "penguin000").to_list()
    assert [doc["username"] for doc in named] == NAMES[:10]
    plan = await users.find({"usernameLower": {"$in": ["skua"]}}).explain()
    assert _walks_the_index(plan), plan["queryPlanner"]["winningPlan"]


async def test_a_wallet_clash_is_not_a_name_clash() -> None:
    wallet = Wallet().address
    await User(wallet_address=wallet, username="Waddles").insert()

    with pytest.raises(DuplicateKeyError) as clash:
        await User(wallet_address=wallet, username="Pebbles").insert()

    assert not is_username_clash(clash.value)
