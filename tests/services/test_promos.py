"""Promo codes against the real database: once per wallet, never past the maximum."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from clubpengu.errors import Conflict, Expired, InvalidMessage, NotFound
from clubpengu.services.catalog import load_catalog
from clubpengu.services.economy import EconomyService
from clubpengu.services.promos import PromoService
from tests.conftest import TEST_DB
from tests.services.conftest import Client, add_player, entries, user_doc
from tests.support import MovableClock

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CATALOG = load_catalog()


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(NOW)


@pytest.fixture
def promos(mongo_client: Client, economy: EconomyService, clock: MovableClock) -> PromoService:
    return PromoService(mongo_client, TEST_DB, economy, CATALOG, clock=clock)


def wallet(n: int) -> str:
    return f"Promo{n:04d}" + "p" * 35


async def test_a_code_is_stored_upper_case_and_listed_newest_first(
    promos: PromoService, clock: MovableClock
) -> None:
    await promos.create("first", coins=5, max_redemptions=1, created_by="admin:a")
    clock.now += timedelta(seconds=1)
    created = await promos.create(
        "Summer-2026", coins=100, items=["party_hat", "puffle_o"], max_redemptions=10,
        expires_at=NOW + timedelta(days=30), created_by="admin:a",
    )  # fmt: skip

    listed = await promos.list()

    assert created.code == "SUMMER-2026"
    assert [p.code for p in listed] == ["SUMMER-2026", "FIRST"]
    assert listed[0] == created
    assert listed[0].public()["expiresAt"] == "2026-07-01T12:00:00+00:00"


async def test_a_code_that_exists_already_is_a_conflict(promos: PromoService) -> None:
    await promos.create("SAME", coins=5, max_redemptions=1, created_by="admin:a")

    with pytest.raises(Conflict):
        await promos.create("same", coins=9, max_redemptions=1, created_by="admin:b")


@pytest.mark.parametrize(
    "changes",
    [
        {"code": "no"},
        {"code": "has space"},
        {"coins": 0},
        {"coins": -1},
        {"coins": True},
        {"items": ["no_such_item"]},
        {"items": ["blue"]},  # a starter item everyone owns
        {"items": ["party_hat", "party_hat"]},
        {"max_redemptions": 0},
        {"expires_at": NOW - timedelta(seconds=1)},
        {"expires_at": datetime(2030, 1, 1)},  # no time zone
    ],
)
async def test_an_invalid_code_is_refused(promos: PromoService, changes: dict[str, Any]) -> None:
    arguments: dict[str, Any] = {"code": "GOOD", "coins": 5, "max_redemptions": 3}
    arguments.update(changes)

    with pytest.raises(InvalidMessage):
        await promos.create(created_by="admin:a", **arguments)

    assert await promos.list() == []


async def test_redeeming_grants_coins_through_the_ledger_and_the_items(
    promos: PromoService, economy: EconomyService, mongo_client: Client
) -> None:
    await add_player(economy, wallet(1), 10)
    await promos.create(
        "WELCOME", coins=100, items=["party_hat", "sled", "puffle_o"], max_redemptions=5,
        created_by="admin:a",
    )  # fmt: skip

    result = await promos.redeem(wallet(1), "welcome")

    assert (result.code, result.coins, result.balance) == ("WELCOME", 100, 110)
    assert result.items == ("party_hat", "sled", "puffle_o")
    user = await user_doc(mongo_client, wallet(1))
    assert user["unlockedCosmetics"] == ["party_hat"]
    assert user["unlockedMounts"] == ["none", "sled"]
    assert user["inventory"] == {"puffle_o": 1}
    entry = (await entries(mongo_client, wallet(1)))[-1]
    assert (entry["type"], entry["amount"], entry["actor"]) == ("promo", 100, "promo:WELCOME")
    assert entry["idempotencyKey"] == f"promo:WELCOME:{wallet(1)}"
    assert (await promos.get("WELCOME")).redeemed_count == 1


async def test_a_code_with_items_only_writes_no_ledger_entry(
    promos: PromoService, economy: EconomyService, mongo_client: Client
) -> None:
    await add_player(economy, wallet(1))
    await promos.create("HATS", items=["beanie"], max_redemptions=5, created_by="admin:a")

    result = await promos.redeem(wallet(1), "HATS")

    assert (result.balance, result.transaction_id) == (None, None)
    assert (await user_doc(mongo_client, wallet(1)))["unlockedCosmetics"] == ["beanie"]
    assert await entries(mongo_client, wallet(1)) == []


async def test_a_second_redemption_by_the_same_wallet_is_a_conflict(
    promos: PromoService, economy: EconomyService, mongo_client: Client
) -> None:
    await add_player(economy, wallet(1))
    await promos.create("ONCE", coins=50, max_redemptions=5, created_by="admin:a")
    await promos.redeem(wallet(1), "ONCE")

    with pytest.raises(Conflict) as error:
        await promos.redeem(wallet(1), "ONCE")

    assert error.value.data == {"reason": "already_redeemed"}
    assert (await user_doc(mongo_client, wallet(1)))["coins"] == 50


async def test_one_wallet_redeeming_five_times_at_once_is_paid_once(
    promos: PromoService, economy: EconomyService, mongo_client: Client
) -> None:
    await add_player(economy, wallet(1))
    await promos.create("RACE", coins=50, items=["bouncy_ball"], max_redemptions=5,
                        created_by="admin:a")  # fmt: skip

    outcomes = await asyncio.gather(
        *(promos.redeem(wallet(1), "RACE") for _ in range(5)), return_exceptions=True
    )

    assert Counter(type(o).__name__ for o in outcomes) == {"PromoResult": 1, "Conflict": 4}
    user = await user_doc(mongo_client, wallet(1))
    assert user["coins"] == 50 and user["inventory"] == {"bouncy_ball": 1}
    assert (await promos.get("RACE")).redeemed_count == 1


async def test_thirty_concurrent_redeemers_never_exceed_the_maximum(
    promos: PromoService, economy: EconomyService, mongo_client: Client
) -> None:
    for n in range(30):
        await add_player(economy, wallet(n))
    await promos.create("LIMITED", coins=25, items=["tree_pin"], max_redemptions=10,
                        created_by="admin:a")  # fmt: skip

    outcomes = await asyncio.gather(
        *(promos.redeem(wallet(n), "LIMITED") for n in range(30)), return_exceptions=True
    )

    assert Counter(type(o).__name__ for o in outcomes) == {"PromoResult": 10, "Conflict": 20}
    assert all(o.data == {"reason": "sold_out"} for o in outcomes if isinstance(o, Conflict))
    assert (await promos.get("LIMITED")).redeemed_count == 10
    database = mongo_client[TEST_DB]
    assert await database["promo_redemptions"].count_documents({"code": "LIMITED"}) == 10
    assert await database["users"].count_documents({"unlockedCosmetics": "tree_pin"}) == 10
    assert await database["transactions"].count_documents({"type": "promo"}) == 10
    assert (await economy.verify_ledger()).ok


async def test_a_sold_out_code_is_a_conflict(promos: PromoService, economy: EconomyService) -> None:
    await add_player(economy, wallet(1))
    await add_player(economy, wallet(2))
    await promos.create("ONE", coins=5, max_redemptions=1, created_by="admin:a")
    await promos.redeem(wallet(1), "ONE")

    with pytest.raises(Conflict) as error:
        await promos.redeem(wallet(2), "ONE")

    assert error.value.data == {"reason": "sold_out"}


async def test_an_expired_code_redeems_nothing(
    promos: PromoService, economy: EconomyService, mongo_client: Client, clock: MovableClock
) -> None:
    await add_player(economy, wallet(1))
    await promos.create("SOON", coins=5, max_redemptions=3, created_by="admin:a",
                        expires_at=NOW + timedelta(hours=1))  # fmt: skip
    clock.now = NOW + timedelta(hours=1)

    with pytest.raises(Expired):
        await promos.redeem(wallet(1), "SOON")

    assert (await user_doc(mongo_client, wallet(1)))["coins"] == 0
    assert (await promos.get("SOON")).redeemed_count == 0


@pytest.mark.parametrize("code", ["NOPE", "x", ""])
async def test_an_unknown_code_is_not_found(
    promos: PromoService, economy: EconomyService, code: str
) -> None:
    await add_player(economy, wallet(1))

    with pytest.raises(NotFound):
        await promos.redeem(wallet(1), code)


async def test_an_inactive_code_is_refused_as_expired_saying_it_is_not_active(
    promos: PromoService, economy: EconomyService, mongo_client: Client
) -> None:
    await add_player(economy, wallet(1))
    await promos.create("INACTIVE", coins=5, max_redemptions=3, created_by="a", active=False)

    with pytest.raises(Expired) as refused:
        await promos.redeem(wallet(1), "inactive")

    assert str(refused.value) == "This promo code is not active"
    assert refused.value.data == {"reason": "inactive"}
    assert (await user_doc(mongo_client, wallet(1)))["coins"] == 0
    assert (await promos.get("INACTIVE")).redeemed_count == 0


@pytest.mark.parametrize("items", [[], ["beanie"]])
async def test_a_wallet_with_no_player_redeems_nothing(
    promos: PromoService, mongo_client: Client, items: list[str]
) -> None:
    await promos.create("GHOST", coins=0 if items else 5, items=items, max_redemptions=3,
                        created_by="admin:a")  # fmt: skip

    with pytest.raises(NotFound):
        await promos.redeem("nobody", "GHOST")

    assert (await promos.get("GHOST")).redeemed_count == 0
    assert await mongo_client[TEST_DB]["promo_redemptions"].count_documents({}) == 0
