"""Leaderboards on the real database: ranks against a brute-force count over a seeded
random board, each rated match counted once, unrated ones not at all, and the week that
rolls over on Monday 00:00 UTC."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from bson import ObjectId
from pymongo import AsyncMongoClient

from clubpengu.errors import InvalidMessage
from clubpengu.models import Match, MatchLogEntry, MatchPlayer, MatchStatus
from clubpengu.services.economy import EconomyService
from clubpengu.services.leaderboards import LeaderboardService, week_of
from tests.conftest import TEST_DB
from tests.support import MovableClock

Mongo = AsyncMongoClient[dict[str, Any]]
# A Sunday evening, UTC: the ISO week 2026-W49 ends at midnight.
SUNDAY = datetime(2026, 12, 6, 23, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(SUNDAY)


@pytest.fixture
def boards(mongo_client: Mongo, clock: MovableClock) -> LeaderboardService:
    economy = EconomyService(mongo_client, TEST_DB, clock=clock)
    return LeaderboardService(mongo_client, TEST_DB, economy, min_moves=2, clock=clock)


async def _finished(
    client: Mongo,
    wallets: list[str],
    winner: int | None,
    *,
    ended: datetime = SUNDAY,
    result: str = "three_in_a_row",
    moves: tuple[int, int] = (3, 2),
    **fields: Any,
) -> Match:
    """A completed match, stored (the leaderboard claims it on its document)."""
    log = [
        MatchLogEntry(seq=0, seat=seat, wallet_address=wallets[seat], move={}, at=ended)
        for seat in (0, 1)
        for _ in range(moves[seat])
    ]
    match = Match(
        id=ObjectId(), game="tictactoe", wallets=wallets, status=MatchStatus.COMPLETED,
        players=[MatchPlayer(wallet_address=w, username=f"P-{w}") for w in wallets],
        winner_wallet=wallets[winner] if winner is not None else None, result=result,
        log=log, ended_at=ended, settled_at=ended, **fields,
    )  # fmt: skip
    await client[TEST_DB]["matches"].insert_one(match.model_dump(by_alias=True))
    return match


def test_the_week_is_the_iso_week_in_utc() -> None:
    assert week_of(SUNDAY) == "2026-W49"
    assert week_of(SUNDAY + timedelta(hours=1)) == "2026-W50"
    assert week_of(datetime(2027, 1, 1, tzinfo=UTC)) == "2026-W53"


async def test_ranks_match_a_brute_force_count_on_a_random_board(
    mongo_client: Mongo, boards: LeaderboardService
) -> None:
    rng = random.Random(20)
    players = [f"w{n:02d}" for n in range(40)]
    for _ in range(160):
        pair = rng.sample(players[: rng.choice([12, 40])], 2)  # some play far more
        winner = rng.choice([0, 0, 1, None])
        result = "draw" if winner is None else "three_in_a_row"
        await boards.record(await _finished(mongo_client, pair, winner, result=result))

    entries = await mongo_client[TEST_DB]["leaderboard"].find({"period": "all"}).to_list()
    keys = {e["walletAddress"]: (e["wins"], round(e["rating"])) for e in entries}
    expected = {w: 1 + sum(other > key for other in keys.values()) for w, key in keys.items()}
    board = await boards.board("tictactoe", "all")
    mine = {w: (await boards.board("tictactoe", "all", w)).me for w in keys}

    assert len(keys) > 30 and len(set(keys.values())) < len(keys)  # ties of wins and rating
    assert {w: s.rank for w, s in mine.items() if s is not None} == expected
    assert [(s.wallet, s.rank) for s in board.top] == sorted(
        ((w, r) for w, r in expected.items()), key=lambda item: (item[1], item[0])
    )
    week = await boards.board("tictactoe", "week", players[0])
    assert week.me is not None and week.me.rank == expected[players[0]]


async def test_the_top_stops_at_100_and_cuts_equal_wins_by_rating(
    mongo_client: Mongo, boards: LeaderboardService
) -> None:
    winners = [f"v{n:03d}" for n in range(120)]
    for n, wallet in enumerate(winners):
        for _ in range(1 + n // 60):  # 60 players with one win, 60 with two
            await boards.record(await _finished(mongo_client, [wallet, f"l{n:03d}"], 0))

    top = (await boards.board("tictactoe", "all", "l000")).top

    assert len(top) == 100 and {s.wins for s in top} == {1, 2}
    assert [s.wallet for s in top[:60]] == sorted(
        winners[60:], key=lambda w: (-round(next(s.rating for s in top if s.wallet == w)), w)
    )
    assert all(s.wins == 1 for s in top[60:])


async def test_a_rated_match_counts_once_and_moves_both_ratings(
    mongo_client: Mongo, boards: LeaderboardService
) -> None:
    match = await _finished(mongo_client, ["wa", "wb"], 0)

    counted = await asyncio.gather(boards.record(match), boards.record(match))
    again = await boards.record(match)

    assert sorted(counted) == [False, True] and again is False
    for period in ("week", "all"):
        board = await boards.board("tictactoe", period, "wb")
        assert [(s.wallet, s.rank, s.wins, s.losses) for s in board.top] == [
            ("wa", 1, 1, 0), ("wb", 2, 0, 1)
        ]  # fmt: skip
        assert board.top[0].rating == pytest.approx(1662.31, abs=0.01)
        assert board.top[1].rating == pytest.approx(1337.69, abs=0.01)
        assert board.top[0].provisional and board.me == board.top[1]


async def test_a_second_match_is_rated_from_the_first_ones_ratings(
    mongo_client: Mongo, boards: LeaderboardService
) -> None:
    await boards.record(await _finished(mongo_client, ["wa", "wb"], 0))
    await boards.record(await _finished(mongo_client, ["wb", "wa"], None, result="draw"))

    top = (await boards.board("tictactoe", "all")).top

    assert [(s.wallet, s.wins, s.draws) for s in top] == [("wa", 1, 1), ("wb", 0, 1)]
    assert 1500 < top[0].rating < 1662.31 and 1337.69 < top[1].rating < 1500


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"result": "forfeit"}, "given up"),
        ({"result": "timeout"}, "timed out"),
        ({"result": "disconnect"}, "left"),
        ({"result": "abandoned"}, "abandoned"),
        ({"moves": (3, 1)}, "the loser made one move"),
        ({"opponent": "computer", "computer_level": "hard"}, "against the computer"),
        ({"reward_reasons": [None, "pair_cap"]}, "past the pair's rewarded matches"),
    ],
)
async def test_matches_without_a_reward_do_not_count(
    mongo_client: Mongo, boards: LeaderboardService, fields: dict[str, Any], why: str
) -> None:
    match = await _finished(mongo_client, ["wa", "wb"], 0, **fields)

    assert await boards.record(match) is False, why
    assert (await boards.board("tictactoe", "all")).top == []


async def test_the_weekly_board_starts_empty_on_monday_and_the_all_time_one_keeps_going(
    mongo_client: Mongo, boards: LeaderboardService, clock: MovableClock
) -> None:
    await boards.record(await _finished(mongo_client, ["wa", "wb"], 0))
    sunday = await boards.board("tictactoe", "week", "wa")

    clock.advance(hours=1)
    monday = await boards.board("tictactoe", "week", "wa")
    await boards.record(await _finished(mongo_client, ["wb", "wa"], 0, ended=clock()))
    later = await boards.board("tictactoe", "week", "wa")
    all_time = await boards.board("tictactoe", "all", "wa")

    assert (sunday.key, [s.wallet for s in sunday.top]) == ("2026-W49", ["wa", "wb"])
    assert (monday.key, monday.top, monday.me) == ("2026-W50", [], None)
    assert [(s.wallet, s.wins, s.losses) for s in later.top] == [("wb", 1, 0), ("wa", 0, 1)]
    # Equal wins: the higher rating first, and wb's win was the upset.
    assert [(s.wallet, s.wins, s.losses) for s in all_time.top] == [("wb", 1, 1), ("wa", 1, 1)]
    # The week's entries show the rating as it stands after their last match.
    assert later.top[1].rating == all_time.top[1].rating and later.me == later.top[1]


@pytest.mark.parametrize(
    ("game", "period", "field"),
    [("chess", "all", "game"), ("tictactoe", "month", "period"), ("", "week", "game")],
)
async def test_an_unknown_game_or_period_is_refused_by_name(
    boards: LeaderboardService, game: str, period: str, field: str
) -> None:
    with pytest.raises(InvalidMessage, match=f"^{field}:"):
        await boards.board(game, period)
