"""Purchases and equipment against the real database: debit and unlock are one
transaction, replays change nothing, and only owned items can be worn."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from clubpengu.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InsufficientFunds,
    InvalidMessage,
    NotFound,
)
from clubpengu.services.catalog import load_catalog
from clubpengu.services.economy import EconomyService
from clubpengu.services.shop import ShopService
from tests.conftest import TEST_DB
from tests.services.conftest import (
    Client,
    CommandNames,
    add_player,
    entries,
    fail_point,
    user_doc,
)

A = "ShopA" + "a" * 39
B = "ShopB" + "b" * 39
CATALOG = load_catalog()


@pytest.fixture
def shop(mongo_client: Client, economy: EconomyService) -> ShopService:
    return ShopService(mongo_client, TEST_DB, economy, CATALOG)


def price(item_id: str) -> int:
    item = CATALOG.get(item_id)
    assert item is not None
    return item.price


async def test_a_purchase_debits_and_unlocks_together(
    shop: ShopService, economy: EconomyService, mongo_client: Client
) -> None:
    await add_player(economy, A, 1000)

    result = await shop.purchase(A, "viking_helmet", "k1")

    assert (result.item_id, result.price, result.balance) == ("viking_helmet", 750, 250)
    user = await user_doc(mongo_client, A)
    assert user["coins"] == 250 and user["unlockedCosmetics"] == ["viking_helmet"]
    entry = (await entries(mongo_client, A))[-1]
    assert (entry["amount"], entry["type"], entry["proof"]) == (
        -750, "purchase", {"itemId": "viking_helmet"},
    )  # fmt: skip
    assert entry["idempotencyKey"] == f"purchase:{A}:k1" and entry["actor"] == f"player:{A}"


async def test_a_mount_is_unlocked_as_a_mount(
    shop: ShopService, economy: EconomyService, mongo_client: Client
) -> None:
    await add_player(economy, A, 1000)

    await shop.purchase(A, "sled", "k1")

    assert (await user_doc(mongo_client, A))["unlockedMounts"] == ["none", "sled"]


async def test_puffle_items_stack_in_the_inventory(
    shop: ShopService, economy: EconomyService, mongo_client: Client
) -> None:
    await add_player(economy, A, 100)

    await shop.purchase(A, "puffle_o", "k1")
    await shop.purchase(A, "puffle_o", "k2")

    user = await user_doc(mongo_client, A)
    assert user["inventory"] == {"puffle_o": 2}
    assert user["coins"] == 100 - 2 * price("puffle_o")


async def test_buying_an_owned_item_again_is_a_conflict_and_costs_nothing(
    shop: ShopService, economy: EconomyService, mongo_client: Client
) -> None:
    await add_player(economy, A, 1000)
    await shop.purchase(A, "party_hat", "k1")

    with pytest.raises(Conflict):
        await shop.purchase(A, "party_hat", "k2")

    user = await user_doc(mongo_client, A)
    assert user["coins"] == 950 and user["unlockedCosmetics"] == ["party_hat"]
    assert len(await entries(mongo_client, A)) == 2


async def test_owning_the_item_is_reported_before_being_short_of_coins(
    shop: ShopService, economy: EconomyService
) -> None:
    await add_player(economy, A, 50)
    await shop.purchase(A, "party_hat", "k1")

    with pytest.raises(Conflict):
        await shop.purchase(A, "party_hat", "k2")


@pytest.mark.parametrize(
    ("item_id", "error"),
    [
        ("no_such_item", NotFound),
        ("crown", Forbidden),
        ("blue", Forbidden),
        ("tuxedo", InsufficientFunds),
    ],
)
async def test_a_refused_purchase_changes_nothing(
    shop: ShopService, economy: EconomyService, mongo_client: Client,
    item_id: str, error: type[DomainError],
) -> None:  # fmt: skip
    await add_player(economy, A, 100)

    with pytest.raises(error):
        await shop.purchase(A, item_id, "k1")

    user = await user_doc(mongo_client, A)
    assert user["coins"] == 100 and user["unlockedCosmetics"] == []
    assert len(await entries(mongo_client, A)) == 1


async def test_a_purchase_by_an_unknown_wallet_is_not_found(shop: ShopService) -> None:
    with pytest.raises(NotFound):
        await shop.purchase("nobody", "party_hat", "k1")


async def test_a_repeated_purchase_returns_the_first_result(
    shop: ShopService, economy: EconomyService, mongo_client: Client
) -> None:
    await add_player(economy, A, 1000)

    first = await shop.purchase(A, "party_hat", "k1")
    again = [await shop.purchase(A, "party_hat", "k1") for _ in range(2)]
    at_once = await asyncio.gather(*(shop.purchase(A, "party_hat", "k1") for _ in range(3)))

    assert not first.replayed
    assert all(r.replayed and r.transaction_id == first.transaction_id for r in again + at_once)
    assert (await user_doc(mongo_client, A))["coins"] == 950
    assert len(await entries(mongo_client, A)) == 2


async def test_five_identical_purchases_at_once_buy_one_item(
    shop: ShopService, economy: EconomyService, mongo_client: Client
) -> None:
    await add_player(economy, A, 100)

    results = await asyncio.gather(*(shop.purchase(A, "puffle_o", "same") for _ in range(5)))

    assert sorted(r.replayed for r in results) == [False, True, True, True, True]
    user = await user_doc(mongo_client, A)
    assert user["inventory"] == {"puffle_o": 1} and user["coins"] == 100 - price("puffle_o")


async def test_the_same_key_for_another_item_is_a_conflict(
    shop: ShopService, economy: EconomyService
) -> None:
    await add_player(economy, A, 1000)
    await shop.purchase(A, "party_hat", "k1")

    with pytest.raises(Conflict):
        await shop.purchase(A, "beanie", "k1")


async def test_keys_are_scoped_by_wallet(shop: ShopService, economy: EconomyService) -> None:
    await add_player(economy, A, 100)
    await add_player(economy, B, 100)

    first = await shop.purchase(A, "party_hat", "1")
    second = await shop.purchase(B, "party_hat", "1")

    assert not first.replayed and not second.replayed


async def test_fifty_concurrent_purchases_that_afford_ten_buy_exactly_ten(
    shop: ShopService, economy: EconomyService, mongo_client: Client
) -> None:
    cost = price("puffle_cookie")
    await add_player(economy, A, 10 * cost)

    outcomes = await asyncio.gather(
        *(shop.purchase(A, "puffle_cookie", f"k{i}") for i in range(50)), return_exceptions=True
    )

    kinds = Counter(type(outcome).__name__ for outcome in outcomes)
    assert kinds == {"PurchaseResult": 10, "InsufficientFunds": 40}
    user = await user_doc(mongo_client, A)
    assert user["coins"] == 0 and user["inventory"] == {"puffle_cookie": 10}
    assert user["stats"]["economy"]["totalCoinsSpent"] == 10 * cost
    assert len(await entries(mongo_client, A)) == 11
    assert (await economy.verify_ledger()).ok


async def test_concurrent_purchases_of_one_hat_with_different_keys_sell_it_once(
    shop: ShopService, economy: EconomyService, mongo_client: Client
) -> None:
    await add_player(economy, A, 1000)

    outcomes = await asyncio.gather(
        *(shop.purchase(A, "party_hat", f"k{i}") for i in range(10)), return_exceptions=True
    )

    kinds = Counter(type(outcome).__name__ for outcome in outcomes)
    assert kinds == {"PurchaseResult": 1, "Conflict": 9}
    assert (await user_doc(mongo_client, A))["coins"] == 950


async def test_a_failure_after_the_unlock_and_debit_rolls_both_back(
    shop: ShopService, economy: EconomyService, mongo_client: Client
) -> None:
    await add_player(economy, A, 1000)

    with pytest.raises(Exception, match="failCommand"):
        async with fail_point(mongo_client, {"times": 1}, failCommands=["insert"], errorCode=8):
            await shop.purchase(A, "party_hat", "k1")

    user = await user_doc(mongo_client, A)
    assert user["coins"] == 1000 and user["unlockedCosmetics"] == []


# --- equipment ----------------------------------------------------------------------------


async def test_an_owned_item_can_be_equipped(shop: ShopService, economy: EconomyService) -> None:
    await add_player(economy, A, 1000)
    await shop.purchase(A, "party_hat", "k1")

    customization = await shop.equip(A, "head", "party_hat")

    assert customization == {"color": "blue", "head": "party_hat"}


async def test_equipping_is_an_update_and_a_read_never_a_find_and_modify(
    recorded_client: tuple[Client, CommandNames], economy: EconomyService
) -> None:
    # SecantusDB runs findAndModify's write as a scan of every user.
    client, names = recorded_client
    shop = ShopService(client, TEST_DB, EconomyService(client, TEST_DB), CATALOG)
    await add_player(economy, A, price("party_hat"))
    await shop.purchase(A, "party_hat", "k1")
    names.seen.clear()

    worn = await shop.equip(A, "head", "party_hat")

    assert worn["head"] == "party_hat"
    assert names.seen == ["update users", "find users"]


async def test_an_unowned_item_is_refused_and_nothing_changes(
    shop: ShopService, economy: EconomyService, mongo_client: Client
) -> None:
    await add_player(economy, A, 1000)

    with pytest.raises(Forbidden) as error:
        await shop.equip(A, "head", "viking_helmet")

    assert error.value.data == {"item_id": "viking_helmet"}
    assert (await user_doc(mongo_client, A))["customization"] == {"color": "blue"}


@pytest.mark.parametrize(
    ("slot", "item_id", "error"),
    [
        ("face", "party_hat", Forbidden),  # owned, but not made for the face
        ("head", "puffle_o", Forbidden),
        ("head", "no_such_item", Forbidden),
        ("tail", "party_hat", InvalidMessage),
        ("color", None, InvalidMessage),
    ],
)
async def test_an_item_in_the_wrong_slot_is_refused(
    shop: ShopService, economy: EconomyService, slot: str, item_id: str | None,
    error: type[DomainError],
) -> None:  # fmt: skip
    await add_player(economy, A, 1000)
    await shop.purchase(A, "party_hat", "k1")

    with pytest.raises(error):
        await shop.equip(A, slot, item_id)


async def test_starter_items_need_no_purchase(shop: ShopService, economy: EconomyService) -> None:
    await add_player(economy, A)

    customization = await shop.set_customization(A, {"color": "blue", "mount": "none"})

    assert customization == {"color": "blue", "mount": "none"}


async def test_none_takes_an_item_off(shop: ShopService, economy: EconomyService) -> None:
    await add_player(economy, A, 1000)
    await shop.purchase(A, "sled", "k1")
    await shop.equip(A, "mount", "sled")

    customization = await shop.equip(A, "mount", None)

    assert customization == {"color": "blue"}


async def test_several_slots_change_together_or_not_at_all(
    shop: ShopService, economy: EconomyService, mongo_client: Client
) -> None:
    await add_player(economy, A, 1000)
    await shop.purchase(A, "red", "k1")
    await shop.purchase(A, "sunglasses", "k2")

    with pytest.raises(Forbidden):
        await shop.set_customization(A, {"color": "red", "head": "crown"})
    both = await shop.set_customization(A, {"color": "red", "face": "sunglasses"})

    assert both == {"color": "red", "face": "sunglasses"}


async def test_equipping_for_an_unknown_wallet_is_not_found(shop: ShopService) -> None:
    with pytest.raises(NotFound):
        await shop.equip("nobody", "color", "blue")
