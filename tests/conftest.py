"""The real database for every test: SecantusDB started once per test session on a free
loopback port (with test commands, so fail points work), or MONGODB_URI when set."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from clubpengu.config import Rate, Settings
from clubpengu.db import EmbeddedDatabase, init_models
from clubpengu.models import ALL_MODELS, User
from tests.redis_server import RedisServer, running_redis
from tests.support import RunningServer, run_server

TEST_DB = "clubpengu_test"
TEST_SECRET = "test-secret-" + "x" * 40


@pytest.fixture(scope="session")
def mongo_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    external = os.environ.get("MONGODB_URI")
    if external:
        yield external
        return
    database = EmbeddedDatabase(
        tmp_path_factory.mktemp("mongo"), extra_args=["--enable-test-commands"]
    )
    database.start()
    try:
        yield database.uri
    finally:
        database.stop()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A redis-server of this test session, on a free port (never the system one). Tests
    that stop or pause Redis start their own instead."""
    with running_redis(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture(scope="session")
async def mongo_client(mongo_uri: str) -> AsyncIterator[AsyncMongoClient[dict[str, Any]]]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_uri, tz_aware=True)
    await client.drop_database(TEST_DB)
    await init_models(client, TEST_DB)
    yield client
    await client.close()


@pytest.fixture(autouse=True)
async def clean_db(mongo_client: AsyncMongoClient[dict[str, Any]]) -> None:
    """Every test starts with empty collections (indexes kept), and with the models bound to
    the shared test client (a test that ran an app on its own database rebinds them)."""
    bound = User.get_pymongo_collection().database
    if bound.client is not mongo_client or bound.name != TEST_DB:
        await init_models(mongo_client, TEST_DB)
    database = mongo_client[TEST_DB]
    for model in ALL_MODELS:
        await database[model.get_collection_name()].delete_many({})


@pytest.fixture
def settings(mongo_uri: str, tmp_path: Path) -> Settings:
    return Settings(
        env="test",
        mongodb_uri=mongo_uri,
        mongodb_db=TEST_DB,
        jwt_secret=TEST_SECRET,
        data_dir=tmp_path / "data",
        daily_bonus_coins=0,  # tests that want it turn it on; others keep balances exact
        # The farm defences are off for the tests of everything else (they sign up many
        # wallets from 127.0.0.1 and wager with accounts made a second ago); the economy's
        # own tests start from the defaults (`economy_defaults` in tests/support.py).
        new_accounts_per_ip_per_day=0,
        wager_min_account_age=0.0,
        wager_min_matches=0,
        wager_pair_daily_limit=0,
        wager_daily_win_limit=0,
        # No match rewards either, so that balances after a match stay exact; the rewards'
        # own tests turn them on (and `economy_defaults` does).
        match_reward_daily_cap=0,
        # Every test client comes from 127.0.0.1: the per-address limits are off unless a
        # test of them turns them on (tests/transport/test_connection_limits.py).
        max_connections_per_ip=0,
        message_rate_per_ip=Rate(0, 1.0),
    )


@pytest.fixture
async def server(
    settings: Settings, mongo_client: AsyncMongoClient[dict[str, Any]]
) -> AsyncIterator[RunningServer]:
    async with run_server(settings, mongo_client) as running:
        yield running
