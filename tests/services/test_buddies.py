"""The buddy service on the real database: one friendship however accepts race, what the
indexes refuse, the `social` mark a join reads, and erasure (`forget`) from every list."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from clubpengu.models import BuddyRequest, Friendship, Ignore, User
from clubpengu.models.base import utcnow
from clubpengu.services.buddies import BuddyRules, BuddyService
from clubpengu.services.notices import Buddy
from tests.services.conftest import Pushes


async def _player(wallet: str) -> None:
    await User(wallet_address=wallet, username=f"P-{wallet}").insert()


async def _asked(sender: str, target: str) -> None:
    now = utcnow()
    await BuddyRequest(
        from_wallet=sender, to_wallet=target, created_at=now, expires_at=now + timedelta(days=1)
    ).insert()


@pytest.fixture
def buddies(pushes: Pushes) -> BuddyService:
    return BuddyService(pushes, BuddyRules())


async def test_accepting_both_ways_at_once_makes_one_friendship(buddies: BuddyService) -> None:
    await _player("ann")
    await _player("bob")
    await _asked("ann", "bob")
    await _asked("bob", "ann")

    made: list[tuple[str, str]] = []

    async def befriended(one: str, other: str) -> None:
        made.append((one, other))

    buddies.befriended.append(befriended)

    results = await asyncio.gather(buddies.accept("ann", "bob"), buddies.accept("bob", "ann"))

    assert [r.wallet for r in results] == ["bob", "ann"]
    assert await Friendship.find_all().count() == 1
    assert len(made) == 1  # the hook of a first buddy (a stamp) runs once
    assert await BuddyRequest.find_all().count() == 0


async def test_a_request_marks_the_target_social_and_a_hidden_one_does_not(
    buddies: BuddyService,
) -> None:
    for wallet in ("ann", "bob", "cat"):
        await _player(wallet)
    await buddies.ignore("cat", "ann")

    await buddies.request("ann", "bob")
    await buddies.request("ann", "cat")

    users = {u.wallet_address: u.social async for u in User.find_all()}
    assert users == {"ann": False, "bob": True, "cat": True}  # cat: by its own ignore
    hidden = {r.to_wallet: r.hidden async for r in BuddyRequest.find_all()}
    assert hidden == {"bob": False, "cat": True}


async def test_load_hands_over_waiting_requests_oldest_first(
    buddies: BuddyService, pushes: Pushes
) -> None:
    for wallet in ("ann", "bob", "cat"):
        await _player(wallet)
    await buddies.request("bob", "ann")
    await buddies.request("cat", "ann")
    pushes.clear()

    lists = await buddies.load("ann")

    assert lists.buddies == frozenset() and lists.ignored == frozenset()
    assert [(w, p["from"]["walletAddress"]) for w, p in pushes] == [("ann", "bob"), ("ann", "cat")]


async def test_forget_removes_a_wallet_from_every_list_and_request(
    buddies: BuddyService, pushes: Pushes
) -> None:
    for wallet in ("gone", "bob", "cat", "dan", "eve"):
        await _player(wallet)
    await _asked("bob", "gone")
    await buddies.accept("gone", "bob")  # friendship gone-bob
    await buddies.request("gone", "cat")  # request gone → cat
    await buddies.request("dan", "gone")  # request dan → gone
    await buddies.ignore("eve", "gone")  # eve ignores gone
    await buddies.ignore("gone", "dan")  # gone ignores dan (and dan's request is hidden)
    await _asked("cat", "eve")  # not about `gone`: stays
    pushes.clear()

    forgotten = await buddies.forget("gone")

    assert (forgotten.friendships, forgotten.requests, forgotten.ignores) == (1, 2, 2)
    assert await Friendship.find_all().count() == 0
    assert [(r.from_wallet, r.to_wallet) async for r in BuddyRequest.find_all()] == [("cat", "eve")]
    assert await Ignore.find_all().count() == 0
    assert pushes == [("bob", {"type": "buddy_removed", "walletAddress": "gone"})]
    assert (await buddies.listing("bob")).buddies == []


async def test_listing_shows_buddies_by_name_with_room_only_when_online(
    buddies: BuddyService,
) -> None:
    for wallet in ("ann", "bob", "cat"):
        await _player(wallet)
    await User.find_one(User.wallet_address == "cat").update(
        {"$set": {"isConnected": True, "lastInstance": "town~2"}}
    )
    await User.find_one(User.wallet_address == "bob").update({"$set": {"lastInstance": "dock"}})
    for other in ("bob", "cat"):
        await _asked(other, "ann")
        await buddies.accept("ann", other)

    listing = await buddies.listing("ann")

    assert listing.buddies == [
        Buddy("bob", "P-bob", False, None),
        Buddy("cat", "P-cat", True, "town~2"),
    ]
