"""PuffleService on the real database, with an injected clock for decay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from clubpengu.errors import Conflict, Forbidden, InsufficientFunds, InvalidMessage, NotFound
from clubpengu.models import Puffle
from clubpengu.services.catalog import load_catalog
from clubpengu.services.economy import EconomyService
from clubpengu.services.puffle_catalog import PuffleCatalog
from clubpengu.services.puffles import PuffleService, current_stats
from tests.conftest import TEST_DB
from tests.services.conftest import CommandNames, add_player, entries, user_doc
from tests.support import MovableClock

Client = AsyncMongoClient[dict[str, Any]]
START = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(START)


@pytest.fixture
def service(mongo_client: Client, economy: EconomyService, clock: MovableClock) -> PuffleService:
    return PuffleService(
        mongo_client, TEST_DB, economy, PuffleCatalog.load(), load_catalog(), limit=2, clock=clock
    )


async def test_adoption_is_paid_through_the_ledger(
    service: PuffleService, economy: EconomyService, mongo_client: Client
) -> None:
    await add_player(economy, "w1", coins=1000)

    puffle = await service.adopt("w1", "blue", "Bubbles")

    assert (await user_doc(mongo_client, "w1"))["coins"] == 600
    [_, adoption] = await entries(mongo_client, "w1")
    assert adoption["type"] == "puffle_adoption" and adoption["amount"] == -400
    assert adoption["proof"] == {"puffleId": str(puffle.id), "color": "blue"}
    assert await Puffle.find(Puffle.owner_wallet == "w1").count() == 1
    assert (await economy.verify_ledger()).ok


async def test_adoption_past_the_limit_or_without_coins_changes_nothing(
    service: PuffleService, economy: EconomyService, mongo_client: Client
) -> None:
    await add_player(economy, "w1", coins=1200)
    await service.adopt("w1", "blue", "One")
    await service.adopt("w1", "red", "Two")

    with pytest.raises(Conflict):
        await service.adopt("w1", "pink", "Three")
    await add_player(economy, "poor", coins=10)
    with pytest.raises(InsufficientFunds):
        await service.adopt("poor", "blue", "Nope")

    assert (await user_doc(mongo_client, "w1"))["coins"] == 400
    assert await Puffle.count() == 2


async def test_bad_colours_and_names_are_refused(
    service: PuffleService, economy: EconomyService
) -> None:
    await add_player(economy, "w1", coins=1000)

    with pytest.raises(NotFound):
        await service.adopt("w1", "plaid", "Bubbles")
    for name in ("", "   ", "Way too long a puffle name", "Bad!name", "stupid puffle"):
        with pytest.raises(InvalidMessage):
            await service.adopt("w1", "blue", name)

    assert await Puffle.count() == 0


async def test_stats_decay_with_time_and_feeding_consumes_an_item(
    service: PuffleService, economy: EconomyService, mongo_client: Client, clock: MovableClock
) -> None:
    await add_player(economy, "w1", coins=1000)
    await mongo_client[TEST_DB]["users"].update_one(
        {"walletAddress": "w1"}, {"$set": {"inventory.puffle_o": 2}}
    )
    puffle = await service.adopt("w1", "blue", "Bubbles")
    clock.now = START + timedelta(hours=10)

    decayed = current_stats(await service.get("w1", str(puffle.id)), clock.now)
    fed = await service.care("w1", str(puffle.id), "feed", "puffle_o")

    assert decayed == {"hunger": 60.0, "happiness": 70.0, "cleanliness": 80.0, "energy": 75.0}
    assert fed.remaining == 1
    stored = await service.get("w1", str(puffle.id))
    assert current_stats(stored, clock.now) == {
        "hunger": 90.0, "happiness": 70.0, "cleanliness": 80.0, "energy": 80.0,
    }  # fmt: skip
    clock.now = START + timedelta(days=30)
    assert current_stats(stored, clock.now)["hunger"] == 0.0


async def test_care_uses_the_item_with_an_update_and_a_read_never_a_find_and_modify(
    recorded_client: tuple[Client, CommandNames], economy: EconomyService, clock: MovableClock
) -> None:
    # SecantusDB runs findAndModify's write as a scan of every user.
    client, names = recorded_client
    service = PuffleService(
        client, TEST_DB, EconomyService(client, TEST_DB), PuffleCatalog.load(), load_catalog(),
        limit=2, clock=clock,
    )  # fmt: skip
    await add_player(economy, "w1", coins=1000)
    await client[TEST_DB]["users"].update_one(
        {"walletAddress": "w1"}, {"$set": {"inventory.puffle_o": 2}}
    )
    puffle = await service.adopt("w1", "blue", "Bubbles")
    names.seen.clear()

    fed = await service.care("w1", str(puffle.id), "feed", "puffle_o")

    assert fed.remaining == 1
    assert "findAndModify users" not in names.seen
    assert names.seen.count("update users") == 1 and names.seen.count("find users") == 1
    last = await service.care("w1", str(puffle.id), "feed", "puffle_o")
    with pytest.raises(Forbidden):  # none left
        await service.care("w1", str(puffle.id), "feed", "puffle_o")
    assert last.remaining == 0
    assert (await user_doc(client, "w1"))["inventory"]["puffle_o"] == 0


async def test_care_needs_an_item_of_the_right_slot_in_the_inventory(
    service: PuffleService, economy: EconomyService
) -> None:
    await add_player(economy, "w1", coins=1000)
    puffle = await service.adopt("w1", "blue", "Bubbles")

    with pytest.raises(Forbidden):
        await service.care("w1", str(puffle.id), "feed", "puffle_o")
    with pytest.raises(InvalidMessage):
        await service.care("w1", str(puffle.id), "feed", "bubble_soap")
    with pytest.raises(NotFound):
        await service.care("w2", str(puffle.id), "bathe", "bubble_soap")


async def test_one_puffle_walks_at_a_time_and_a_released_one_is_gone(
    service: PuffleService, economy: EconomyService
) -> None:
    await add_player(economy, "w1", coins=1000)
    first = await service.adopt("w1", "blue", "One")
    second = await service.adopt("w1", "red", "Two")

    await service.walk("w1", str(first.id))
    await service.walk("w1", str(second.id))
    walking = await service.walking("w1")
    await service.release("w1", str(second.id))

    assert walking is not None and walking.puffle_id == str(second.id)
    assert walking.view() == {"puffleId": str(second.id), "name": "Two", "color": "red"}
    assert await service.walking("w1") is None
    assert await Puffle.find({"ownerWallet": "w1", "walking": True}).count() == 0
    assert [p.id for p in await service.list("w1")] == [first.id]
    with pytest.raises(NotFound):
        await service.release("w1", str(second.id))


async def test_the_user_says_which_puffle_walks_whatever_ends_the_walk(
    service: PuffleService, economy: EconomyService, mongo_client: Client
) -> None:
    await add_player(economy, "w1", coins=1000)
    first = await service.adopt("w1", "blue", "One")
    second = await service.adopt("w1", "red", "Two")

    adopted = (await user_doc(mongo_client, "w1"))["walkingPuffle"]
    await service.walk("w1", str(first.id))
    walking_first = (await user_doc(mongo_client, "w1"))["walkingPuffle"]
    await service.walk("w1", None)
    walking_none = (await user_doc(mongo_client, "w1"))["walkingPuffle"]
    await service.walk("w1", str(second.id))
    await service.release("w1", str(first.id))  # not the one walking: the User keeps it
    other_released = (await user_doc(mongo_client, "w1"))["walkingPuffle"]
    await service.release("w1", str(second.id))
    walker_released = (await user_doc(mongo_client, "w1"))["walkingPuffle"]

    assert adopted is None
    assert walking_first == {"puffleId": str(first.id), "name": "One", "color": "blue"}
    assert walking_none is None
    assert other_released == {"puffleId": str(second.id), "name": "Two", "color": "red"}
    assert walker_released is None
