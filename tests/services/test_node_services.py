"""The running server builds the economy services once, on its own client and settings."""

from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient

from clubpengu.config import Settings
from clubpengu.models import User
from tests.support import run_server


async def test_the_server_builds_the_economy_with_the_packaged_catalogue(
    settings: Settings, mongo_client: AsyncMongoClient[dict[str, Any]]
) -> None:
    async with run_server(settings.with_overrides(daily_bonus_coins=25), mongo_client) as server:
        services, node_settings = server.node.services, server.node.settings
        await User(wallet_address="RuntimeW", username="P").insert()

        bonus = await services.economy.daily_bonus("RuntimeW")
        bought = await services.shop.purchase("RuntimeW", "tree_pin", "k1")

    assert services.economy.daily_bonus_coins == node_settings.daily_bonus_coins == 25
    assert len(services.shop.catalog) >= 40 and services.promos.catalog is services.shop.catalog
    assert (bonus.balance, bought.balance) == (25, 0)
