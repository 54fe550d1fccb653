"""The running server builds the economy services once, on its own client and settings."""

from __future__ import annotations

from clubpengu.models import User
from tests.support import RunningServer


async def test_the_server_builds_the_economy_with_the_packaged_catalogue(
    server: RunningServer,
) -> None:
    runtime = server.runtime
    await User(wallet_address="RuntimeW", username="P").insert()

    bonus = await runtime.economy.daily_bonus("RuntimeW")
    bought = await runtime.shop.purchase("RuntimeW", "tree_pin", "k1")

    assert runtime.economy.daily_bonus_coins == runtime.settings.daily_bonus_coins == 25
    assert len(runtime.shop.catalog) >= 40 and runtime.promos.catalog is runtime.shop.catalog
    assert (bonus.balance, bought.balance) == (25, 0)
