"""The active-match count on the User (`activeMatches`), on the real database: a join
looks matches up only when it is not 0, so it must be 0 exactly when the player has no
active match, whatever ended it (a win, a forfeit, a disconnect, the sweeper, a match
against the computer); a count left too high is set right by the look-up it causes, and
a database from before the count is filled in at start-up."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from bson import ObjectId
from pymongo import AsyncMongoClient

from clubpengu.errors import Conflict
from clubpengu.models import COMPUTER_WALLET, Match, MatchStatus
from clubpengu.services.economy import EconomyService
from clubpengu.services.kept_on_user import backfill_kept_on_user
from clubpengu.services.matches import MatchService, Timing
from clubpengu.services.notices import ignore
from tests.conftest import TEST_DB
from tests.services.conftest import add_player, user_doc
from tests.support import MovableClock

Mongo = AsyncMongoClient[dict[str, Any]]
START = datetime(2027, 1, 4, 10, tzinfo=UTC)


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(START)


@pytest.fixture
async def service(mongo_client: Mongo, clock: MovableClock) -> AsyncIterator[MatchService]:
    economy = EconomyService(mongo_client, TEST_DB, clock=clock)
    timing = Timing(turn_seconds=30.0, abandon_after=60.0)
    matches = MatchService(
        mongo_client, TEST_DB, economy, ignore, timing, clock=clock, computer_workers=0
    )
    yield matches
    await matches.stop()


async def _players(service: MatchService, *wallets: str) -> None:
    for wallet in wallets:
        await add_player(service.economy, wallet)


async def _start(service: MatchService, mongo_client: Mongo, a: str, b: str) -> Match:
    challenge = {
        "_id": ObjectId(), "challengerWallet": a, "targetWallet": b, "game": "tictactoe",
        "wager": 0, "status": "pending", "createdAt": service.clock(),
        "expiresAt": service.clock() + timedelta(minutes=1),
    }  # fmt: skip
    await mongo_client[TEST_DB]["challenges"].insert_one(challenge)
    return await service.create(challenge)


async def _counts(mongo_client: Mongo, *wallets: str) -> list[int]:
    return [(await user_doc(mongo_client, w)).get("activeMatches") for w in wallets]


async def test_a_match_counts_on_both_users_until_a_forfeit_ends_it(
    service: MatchService, mongo_client: Mongo
) -> None:
    await _players(service, "a", "b")
    match = await _start(service, mongo_client, "a", "b")
    during = await _counts(mongo_client, "a", "b")
    await service.forfeit("a", str(match.id))

    assert during == [1, 1]
    assert await _counts(mongo_client, "a", "b") == [0, 0]


async def test_a_match_played_to_its_end_is_no_longer_counted(
    service: MatchService, mongo_client: Mongo
) -> None:
    await _players(service, "a", "b")
    match = await _start(service, mongo_client, "a", "b")
    first, second = match.wallets
    for turn, cell in enumerate([0, 3, 1, 4, 2]):  # the first to move wins on the top row
        match = await service.move((first, second)[turn % 2], str(match.id), {"cell": cell})

    assert match.status == MatchStatus.COMPLETED
    assert await _counts(mongo_client, "a", "b") == [0, 0]


async def test_a_disconnect_forfeit_and_the_sweeper_take_the_match_off(
    service: MatchService, mongo_client: Mongo, clock: MovableClock
) -> None:
    await _players(service, "a", "b", "c", "d")
    await _start(service, mongo_client, "a", "b")
    await _start(service, mongo_client, "c", "d")

    await service.forfeit_gone("a")
    clock.now += timedelta(minutes=5)  # c and d's turn deadline passed long ago
    assert await service.sweep() == 1

    assert await _counts(mongo_client, "a", "b", "c", "d") == [0, 0, 0, 0]


async def test_a_match_against_the_computer_counts_on_the_player_alone(
    service: MatchService, mongo_client: Mongo
) -> None:
    await _players(service, "a")
    match = await service.play_computer("a", "tictactoe", "easy", None)
    during = await _counts(mongo_client, "a")
    await service.forfeit("a", str(match.id))

    assert COMPUTER_WALLET in match.wallets
    assert during == [1]
    assert await _counts(mongo_client, "a") == [0]


async def test_two_starts_against_the_computer_at_once_make_one_match_counted_once(
    service: MatchService, mongo_client: Mongo
) -> None:
    await _players(service, "a")
    started = await asyncio.gather(
        *(service.play_computer("a", "tictactoe", "easy", None) for _ in range(4)),
        return_exceptions=True,
    )

    matches = [m for m in started if isinstance(m, Match)]
    assert len(matches) == 1
    assert all(isinstance(e, Conflict) for e in started if not isinstance(e, Match))
    assert await Match.find({"wallets": "a", "status": "active"}).count() == 1
    assert await _counts(mongo_client, "a") == [1]


async def test_a_match_with_a_person_and_one_against_the_computer_exclude_each_other(
    service: MatchService, mongo_client: Mongo
) -> None:
    await _players(service, "a", "b", "c")
    await _start(service, mongo_client, "a", "b")
    alone = await service.play_computer("c", "tictactoe", "easy", None)

    with pytest.raises(Conflict):
        await service.play_computer("a", "tictactoe", "easy", None)
    with pytest.raises(Conflict):
        await _start(service, mongo_client, "b", "c")
    await service.forfeit("c", str(alone.id))
    again = await service.play_computer("c", "connect_four", "easy", None)

    assert again.status == MatchStatus.ACTIVE
    assert await _counts(mongo_client, "a", "b", "c") == [1, 1, 1]


async def test_a_count_too_high_is_set_right_by_the_look_up_it_causes(
    service: MatchService, mongo_client: Mongo
) -> None:
    await _players(service, "a", "b", "c")
    users = mongo_client[TEST_DB]["users"]
    await users.update_one({"walletAddress": "a"}, {"$set": {"activeMatches": 2}})
    await _start(service, mongo_client, "b", "c")

    nothing = await service.resume("a", 2)
    resumed = await service.resume("b", 1)

    assert nothing == [] and len(resumed) == 1
    assert await _counts(mongo_client, "a", "b") == [0, 1]


async def test_the_count_is_not_reset_when_a_match_started_since_the_join_read_it(
    service: MatchService, mongo_client: Mongo
) -> None:
    await _players(service, "a", "b")
    users = mongo_client[TEST_DB]["users"]
    await users.update_one({"walletAddress": "a"}, {"$set": {"activeMatches": 1}})  # stale
    # Between the join's read (1) and its look-up, a start counted one more (2); the
    # look-up below stands for one that ran before that start committed.
    await users.update_one({"walletAddress": "a"}, {"$inc": {"activeMatches": 1}})

    await service.resume("a", 1)

    assert await _counts(mongo_client, "a") == [2]


async def test_a_look_up_between_a_computer_start_s_two_writes_keeps_the_count(
    service: MatchService, mongo_client: Mongo, clock: MovableClock
) -> None:
    await _players(service, "a")
    started = asyncio.Event()
    go_on = asyncio.Event()
    insert = service.move_writes.insert_one

    async def held_insert(*args: Any, **kwargs: Any) -> Any:
        started.set()  # the count is written, the match not yet
        await go_on.wait()
        return await insert(*args, **kwargs)

    service.move_writes.insert_one = held_insert  # type: ignore[method-assign]
    start = asyncio.create_task(service.play_computer("a", "tictactoe", "easy", None))
    await started.wait()
    assert await _counts(mongo_client, "a") == [1]
    # A join from another connection reads 1 and finds no match yet.
    assert await service.resume("a", 1) == []
    go_on.set()
    match = await start

    assert await _counts(mongo_client, "a") == [1]
    assert [m.id for m in await service.resume("a", 1)] == [match.id]


async def test_a_start_cut_off_between_its_writes_is_set_right_a_minute_later(
    service: MatchService, mongo_client: Mongo, clock: MovableClock
) -> None:
    await _players(service, "a")
    users = mongo_client[TEST_DB]["users"]
    # What `_start_alone`'s first write leaves when the node dies before the insert.
    await users.update_one(
        {"walletAddress": "a"},
        {"$set": {"activeMatchesAt": clock.now}, "$inc": {"activeMatches": 1}},
    )
    await service.resume("a", 1)
    assert await _counts(mongo_client, "a") == [1]

    clock.now += timedelta(minutes=2)
    await service.resume("a", 1)
    assert await _counts(mongo_client, "a") == [0]


async def test_a_database_from_before_is_filled_in_at_start_up(
    service: MatchService, mongo_client: Mongo
) -> None:
    db = mongo_client[TEST_DB]
    await _players(service, "a", "b", "c")
    match = await _start(service, mongo_client, "a", "b")
    walker = ObjectId()
    await db["puffles"].insert_one(
        {"_id": walker, "ownerWallet": "c", "name": "Bubbles", "color": "blue",
         "walking": True, "releasedAt": None}
    )  # fmt: skip
    await db["users"].update_many({}, {"$unset": {"activeMatches": "", "walkingPuffle": ""}})

    filled = await backfill_kept_on_user(db)
    again = await backfill_kept_on_user(db)

    assert filled == 3 and again == 0
    assert await _counts(mongo_client, "a", "b", "c") == [1, 1, 0]
    assert (await user_doc(mongo_client, "c"))["walkingPuffle"] == {
        "puffleId": str(walker), "name": "Bubbles", "color": "blue"
    }  # fmt: skip
    assert (await user_doc(mongo_client, "a"))["walkingPuffle"] is None
    assert match.status == MatchStatus.ACTIVE
