"""A settled match's stamps and leaderboard entries on the real database: recorded by the
node that settled it, and when that did not finish (the node died, the database failed
right after), by a later sweep of any node, once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from bson import ObjectId
from pymongo import AsyncMongoClient
from pymongo.errors import OperationFailure

from clubpengu.models import Match, MatchLogEntry, MatchPlayer, MatchStatus
from clubpengu.progression.stamps import load_stamps
from clubpengu.services.economy import EconomyService
from clubpengu.services.leaderboards import LeaderboardService
from clubpengu.services.match_aftermath import MatchAftermath
from clubpengu.services.stamps import StampService
from tests.conftest import TEST_DB
from tests.services.conftest import Pushes, add_player, fail_point, user_doc
from tests.support import MovableClock

Mongo = AsyncMongoClient[dict[str, Any]]
ENDED = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
RETRY = 60.0


def _no_spawn(work: Any, name: str) -> None:
    work.close()  # stamps with a coin reward pay in the background; none here do


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(ENDED)


@pytest.fixture
def aftermath(mongo_client: Mongo, economy: EconomyService, pushes: Pushes,
              clock: MovableClock) -> MatchAftermath:  # fmt: skip
    stamps = StampService(mongo_client, TEST_DB, load_stamps(), economy, pushes, _no_spawn,
                          clock=clock)  # fmt: skip
    boards = LeaderboardService(mongo_client, TEST_DB, economy, min_moves=2, clock=clock)
    matches = mongo_client[TEST_DB]["matches"]
    return MatchAftermath(matches, stamps, boards, clock, retry_after=RETRY)


async def _settled(client: Mongo, wallets: list[str], *, due: bool = True) -> Match:
    """A tic-tac-toe match seat 0 won by the rules, stored as the settlement leaves it."""
    log = [
        MatchLogEntry(seq=0, seat=seat, wallet_address=wallets[seat], move={}, at=ENDED)
        for seat in (0, 1)
        for _ in range(3 - seat)
    ]
    match = Match(
        id=ObjectId(), game="tictactoe", wallets=wallets, status=MatchStatus.COMPLETED,
        players=[MatchPlayer(wallet_address=w, username=f"P-{w}") for w in wallets],
        winner_wallet=wallets[0], result="three_in_a_row", log=log, ended_at=ENDED,
        settled_at=ENDED, rewards=[10, 0], reward_reasons=[None, "lost"], aftermath_due=due,
    )  # fmt: skip
    await client[TEST_DB]["matches"].insert_one(match.model_dump(by_alias=True))
    return match


async def _state(client: Mongo, match: Match, wallets: list[str]) -> tuple[Any, ...]:
    stored = await client[TEST_DB]["matches"].find_one({"_id": match.id})
    assert stored is not None
    entries = client[TEST_DB]["leaderboard"]
    wins = [
        (await entries.find_one({"walletAddress": w, "period": "all"}) or {}).get("wins")
        for w in wallets
    ]
    stamps = [(await user_doc(client, w)).get("stamps", []) for w in wallets]
    return stored["aftermathDue"], wins, stamps


async def test_a_match_the_settling_node_left_is_recorded_by_a_later_sweep_once(
    mongo_client: Mongo, economy: EconomyService, aftermath: MatchAftermath,
    clock: MovableClock,
) -> None:  # fmt: skip
    wallets = ["wa", "wb"]
    for wallet in wallets:
        await add_player(economy, wallet)
    await mongo_client[TEST_DB]["users"].update_one(
        {"walletAddress": "wa"}, {"$set": {"stats.games.tictactoe.wins": 1}}
    )
    match = await _settled(mongo_client, wallets)  # its node died before the aftermath
    other = await _settled(mongo_client, ["wc", "wd"], due=False)  # nothing was due

    clock.advance(seconds=RETRY - 1)
    assert await aftermath.sweep() == 0  # its own node may still be at it
    assert await _state(mongo_client, match, wallets) == (True, [None, None], [[], []])

    clock.advance(seconds=2)
    assert await aftermath.sweep() == 1
    after = await _state(mongo_client, match, wallets)
    assert after == (False, [1, 0], [["first_match", "first_win"], ["first_match"]])
    assert await aftermath.sweep() == 0  # cleared: nothing to take up again
    await aftermath.run(match)  # and done twice (a node and a sweep at once) counts once
    assert await _state(mongo_client, match, wallets) == after
    assert (await mongo_client[TEST_DB]["matches"].find_one({"_id": other.id}))[
        "aftermathDue"
    ] is False


async def test_a_failed_aftermath_keeps_the_mark_for_the_sweep(
    mongo_client: Mongo, economy: EconomyService, aftermath: MatchAftermath,
    clock: MovableClock,
) -> None:  # fmt: skip
    wallets = ["we", "wf"]
    for wallet in wallets:
        await add_player(economy, wallet)
    match = await _settled(mongo_client, wallets)

    async with fail_point(mongo_client, {"times": 1}, failCommands=["find"], errorCode=2):
        with pytest.raises(OperationFailure):
            await aftermath.run(match)
    assert (await _state(mongo_client, match, wallets))[:2] == (True, [None, None])

    clock.advance(seconds=RETRY + 1)
    assert await aftermath.sweep() == 1
    assert (await _state(mongo_client, match, wallets))[:2] == (False, [1, 0])


async def test_a_backlog_is_taken_up_oldest_first_in_batches(
    mongo_client: Mongo, aftermath: MatchAftermath, clock: MovableClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr("clubpengu.services.match_aftermath.SWEEP_BATCH", 2)
    matches = [await _settled(mongo_client, [f"x{n}", f"y{n}"]) for n in range(3)]
    for n, match in enumerate(matches):
        await mongo_client[TEST_DB]["matches"].update_one(
            {"_id": match.id}, {"$set": {"endedAt": ENDED - timedelta(seconds=3 - n)}}
        )
    clock.advance(seconds=RETRY + 1)

    assert await aftermath.sweep() == 2
    left = await mongo_client[TEST_DB]["matches"].find({"aftermathDue": True}).to_list()
    assert [doc["_id"] for doc in left] == [matches[2].id]
    assert await aftermath.sweep() == 1
