"""Models against the real database: indexes exist and constraints hold."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from pymongo import AsyncMongoClient
from pymongo.errors import DuplicateKeyError

from clubpengu.db import init_models
from clubpengu.models import AuthSession, Challenge, Transaction, User
from clubpengu.models.base import utcnow
from tests.conftest import TEST_DB


async def test_a_second_user_with_the_same_wallet_is_rejected() -> None:
    await User(wallet_address="W1", username="Penguin0001").insert()

    with pytest.raises(DuplicateKeyError):
        await User(wallet_address="W1", username="Penguin0002").insert()

    assert await User.find(User.wallet_address == "W1").count() == 1


def test_a_negative_balance_is_not_a_valid_user() -> None:
    with pytest.raises(ValidationError):
        User(wallet_address="W1", username="P", coins=-1)


async def test_fields_are_stored_in_camel_case(
    mongo_client: AsyncMongoClient[dict[str, Any]],
) -> None:
    await User(wallet_address="W2", username="Penguin0003").insert()

    raw = await mongo_client[TEST_DB]["users"].find_one({"walletAddress": "W2"})

    assert raw is not None
    assert raw["unlockedMounts"] == ["none"]
    assert raw["stats"]["economy"] == {"totalCoinsEarned": 0, "totalCoinsSpent": 0}
    assert "id" not in raw


async def test_the_same_idempotency_key_cannot_be_written_twice() -> None:
    entry = {"wallet_address": "W", "amount": 5, "balance_after": 5, "type": "grant"}
    await Transaction(idempotency_key="k1", **entry).insert()

    with pytest.raises(DuplicateKeyError):
        await Transaction(idempotency_key="k1", **entry).insert()


async def test_only_one_pending_challenge_per_pair() -> None:
    expires = utcnow() + timedelta(minutes=1)
    await Challenge(
        challenger_wallet="A", target_wallet="B", game="tictactoe", expires_at=expires
    ).insert()

    with pytest.raises(DuplicateKeyError):
        await Challenge(
            challenger_wallet="A", target_wallet="B", game="connect4", expires_at=expires
        ).insert()


@pytest.mark.parametrize(
    ("collection", "index"),
    [("auth_sessions", "ttl"), ("challenges", "ttl"), ("chat_lines", "ttl")],
)
async def test_expiring_documents_have_a_ttl_index(
    mongo_client: AsyncMongoClient[dict[str, Any]], collection: str, index: str
) -> None:
    indexes = await mongo_client[TEST_DB][collection].index_information()

    assert indexes[index]["expireAfterSeconds"] == 0
    assert indexes[index]["key"] == [("expiresAt", 1)]


async def test_a_session_round_trips() -> None:
    session = AuthSession(wallet_address="W", expires_at=utcnow() + timedelta(days=7))
    await session.insert()

    found = await AuthSession.get(session.id)

    assert found is not None and found.revoked_at is None


async def test_init_drops_the_indexes_no_query_uses_any_more(
    mongo_client: AsyncMongoClient[dict[str, Any]],
) -> None:
    database = mongo_client[TEST_DB]
    await database.users.create_index("username", name="username_1")
    await database.transactions.create_index([("type", 1), ("createdAt", -1)], name="by_type")

    await init_models(mongo_client, TEST_DB)
    await init_models(mongo_client, TEST_DB)  # a second start finds nothing to drop

    users = await database.users.index_information()
    transactions = await database.transactions.index_information()
    assert set(users) == {"_id_", "walletAddress_1", "presence", "by_created", "username_unique"}
    assert set(transactions) == {"_id_", "idempotencyKey_1", "by_wallet", "by_created"}
