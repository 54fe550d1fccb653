"""The house's match rewards on the real database: paid once per match and seat, to both
after a draw, never for a match given up or barely played, within the daily, pair and
computer caps (days moved on a clock the test holds), and race-safe."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from bson import ObjectId
from pymongo import AsyncMongoClient
from pymongo.errors import DuplicateKeyError

from clubpengu.games import get_game
from clubpengu.models import (
    COMPUTER_WALLET,
    Match,
    MatchLogEntry,
    MatchPlayer,
    Opponent,
    RewardDay,
    Transaction,
)
from clubpengu.services.economy import EconomyService
from clubpengu.services.matches import MatchService, Timing
from clubpengu.services.matches.rewards import (
    RewardRules,
    SeatReward,
    capped,
    coins_key,
    computer_key,
    utc_day,
)
from clubpengu.services.notices import MatchUpdate, Notice
from tests.conftest import TEST_DB
from tests.services.conftest import add_player
from tests.support import MovableClock

Mongo = AsyncMongoClient[dict[str, Any]]
WIN_FOR_SEAT_0 = (0, 3, 1, 4, 2)  # the loser makes two moves
DRAW = (0, 1, 2, 4, 3, 5, 7, 6, 8)
TICTACTOE = get_game("tictactoe")
WIN, DRAWN = TICTACTOE.reward_win, TICTACTOE.reward_draw


@dataclass
class Ends:
    """The `match_end` notices: (wallet, seat, reward, reason)."""

    seen: list[tuple[str, int, int, str | None]] = field(default_factory=list)

    def __call__(self, wallet: str, notice: Notice) -> None:
        if isinstance(notice, MatchUpdate) and notice.view == "match_end":
            match, seat = notice.match, notice.seat
            self.seen.append((wallet, seat, match.rewards[seat], match.reward_reasons[seat]))


@dataclass
class House:
    node: MatchService
    economy: EconomyService
    clock: MovableClock
    ends: Ends

    async def players(self, n: int) -> list[str]:
        wallets = [f"w{ObjectId()}" for _ in range(n)]
        for wallet in wallets:
            await add_player(self.economy, wallet)
        return wallets

    async def start(self, a: str, b: str, game: str = "tictactoe") -> Match:
        challenge = {
            "_id": ObjectId(), "challengerWallet": a, "targetWallet": b, "game": game,
            "wager": 0, "room": "plaza", "status": "pending",
            "expiresAt": self.clock() + timedelta(minutes=1),
        }  # fmt: skip
        await self.node.challenges.insert_one(challenge)
        return await self.node.create(challenge)

    async def play(self, match: Match, cells: tuple[int, ...]) -> Match:
        for turn, cell in enumerate(cells):
            match = await self.node.move(match.wallets[turn % 2], str(match.id), {"cell": cell})
        return match

    async def won_by(self, winner: str, loser: str) -> Match:
        """A whole game `winner` wins by the rules, the loser having made two moves."""
        match = await self.start(winner, loser)
        if match.wallets[0] != winner:
            # Seat 0 moves first and WIN_FOR_SEAT_0 wins for it; the seats were drawn.
            await self.node.matches.update_one(
                {"_id": match.id}, {"$set": {"wallets": [winner, loser]}}
            )
            self.node.cache.discard(str(match.id))
            match = await self.node.get(str(match.id))
        return await self.play(match, WIN_FOR_SEAT_0)


def rules(**caps: int) -> RewardRules:
    return RewardRules(**({"daily_cap": 300, "pair_daily": 5, "computer_daily_cap": 100} | caps))


@pytest.fixture
async def house(mongo_client: Mongo, request: pytest.FixtureRequest) -> AsyncIterator[House]:
    caps = getattr(request, "param", {})
    min_moves = caps.pop("min_moves", 2)
    clock = MovableClock(datetime(2026, 12, 4, 12, 0, tzinfo=UTC))
    ends = Ends()
    economy = EconomyService(mongo_client, TEST_DB, clock=clock)
    node = MatchService(
        mongo_client, TEST_DB, economy, ends, Timing(), clock=clock, min_moves=min_moves,
        rewards=rules(**caps), computer_workers=0,
    )  # fmt: skip
    yield House(node, economy, clock, ends)
    await node.stop()


async def rewards_of(wallet: str) -> list[int]:
    found = await Transaction.find({"walletAddress": wallet, "type": "match_reward"}).to_list()
    return [t.amount for t in found]


async def test_a_win_pays_the_winner_once_and_the_loser_nothing(house: House) -> None:
    a, b = await house.players(2)
    match = await house.won_by(a, b)

    again = await house.node.settle(str(match.id), 0, "three_in_a_row")
    # Even a settlement run again on a match put back as if never settled pays nothing
    # twice: the reward's idempotency key is taken, so its transaction writes nothing.
    await house.node.matches.update_one(
        {"_id": match.id}, {"$set": {"status": "active", "settledAt": None}}
    )
    with pytest.raises(DuplicateKeyError):
        await house.node.settle(str(match.id), 0, "three_in_a_row")

    assert again is None
    assert (await house.node.get(str(match.id))).settled_at is None  # the rerun wrote nothing
    assert await rewards_of(a) == [WIN] and await rewards_of(b) == []
    stored = await Transaction.find_one({"type": "match_reward"})
    assert stored is not None and stored.idempotency_key == f"match:{match.id}:reward:{a}"
    assert (a, 0, WIN, None) in house.ends.seen and (b, 1, 0, "lost") in house.ends.seen
    assert await house.economy.balance(a) == WIN


async def test_a_draw_pays_both_players(house: House) -> None:
    a, b = await house.players(2)
    match = await house.play(await house.start(a, b), DRAW)

    assert match.winner_wallet is None and match.result == "board_full"
    assert match.rewards == [DRAWN, DRAWN] and match.reward_reasons == [None, None]
    # Played out: its stamps and leaderboard entries are due (services/match_aftermath.py).
    assert (await house.node.get(str(match.id))).aftermath_due
    assert await rewards_of(a) == [DRAWN] and await rewards_of(b) == [DRAWN]


@pytest.mark.parametrize("reason", ["forfeit", "timeout", "disconnect", "abandoned"])
async def test_a_match_given_up_pays_nobody(house: House, reason: str) -> None:
    a, b = await house.players(2)
    match = await house.play(await house.start(a, b), WIN_FOR_SEAT_0[:4])  # two moves each
    loser = match.wallets[1]

    if reason == "forfeit":
        await house.node.forfeit(loser, str(match.id))
    elif reason == "disconnect":
        await house.node.forfeit_gone(loser)
    elif reason == "timeout":
        await house.node._timeout(str(match.id), match.version)  # the turn timer firing
    else:
        house.clock.advance(seconds=Timing().turn_seconds + Timing().abandon_after + 1)
        assert await house.node.sweep() == 1

    ended = await house.node.get(str(match.id))
    assert ended.result == reason and ended.rewards == [0, 0]
    assert ended.reward_reasons == [reason, reason]
    assert not ended.aftermath_due  # handed over: no stamps, no board
    assert await Transaction.find({"type": "match_reward"}).count() == 0


@pytest.mark.parametrize("house", [{"min_moves": 3}], indirect=True)
async def test_no_reward_when_the_loser_made_too_few_moves(house: House) -> None:
    a, b = await house.players(2)
    match = await house.won_by(a, b)

    assert match.winner_wallet == a
    assert match.reward_reasons == ["too_few_moves", "lost"] and match.rewards == [0, 0]
    assert not (await house.node.get(str(match.id))).aftermath_due
    assert await Transaction.find({"type": "match_reward"}).count() == 0


@pytest.mark.parametrize("house", [{"daily_cap": 25, "pair_daily": 100}], indirect=True)
async def test_the_daily_cap_pays_what_is_left_then_nothing_until_the_next_utc_day(
    house: House,
) -> None:
    a, b = await house.players(2)
    day_one = [await house.won_by(a, b) for _ in range(4)]
    house.clock.advance(hours=12)  # 00:00 UTC: a new day
    day_two = await house.won_by(a, b)

    assert [(m.rewards[0], m.reward_reasons[0]) for m in day_one] == [
        (WIN, None), (WIN, None), (5, "daily_cap"), (0, "daily_cap"),
    ]  # fmt: skip
    assert (day_two.rewards[0], day_two.reward_reasons[0]) == (WIN, None)
    assert sorted(await rewards_of(a)) == [5, WIN, WIN, WIN]
    counter = await RewardDay.get(coins_key(a, "2026-12-04"))
    assert counter is not None and counter.total == 25


@pytest.mark.parametrize("house", [{"pair_daily": 2}], indirect=True)
async def test_the_pair_cap_stops_rewards_between_two_wallets_not_with_others(
    house: House,
) -> None:
    a, b, c = await house.players(3)
    paired = [await house.won_by(a, b), await house.won_by(b, a), await house.won_by(a, b)]
    other = await house.won_by(a, c)
    house.clock.advance(days=1)
    next_day = await house.won_by(b, a)

    assert [m.rewards for m in paired] == [[WIN, 0], [WIN, 0], [0, 0]]
    assert paired[2].reward_reasons == ["pair_cap", "lost"]
    assert other.rewards == [WIN, 0] and next_day.rewards == [WIN, 0]
    assert await rewards_of(a) == [WIN, WIN] and await rewards_of(b) == [WIN, WIN]


def _ready_match(human: str, opponent: str, now: datetime, *, computer: bool) -> Match:
    """An active tic-tac-toe match in which each seat made three moves and nobody won yet:
    settled by hand as a win, it is rewarded like one decided by the rules."""
    cells = (0, 1, 2, 4, 3, 5)
    wallets = [human, opponent]
    log = [
        MatchLogEntry(
            seq=i + 1, seat=i % 2, wallet_address=wallets[i % 2], move={"cell": c}, at=now
        )
        for i, c in enumerate(cells)
    ]
    return Match(
        id=ObjectId(), game="tictactoe", wallets=wallets,
        players=[MatchPlayer(wallet_address=w, username=w) for w in wallets],
        state=TICTACTOE.new_state(0), log=log, seq=len(log), created_at=now, updated_at=now,
        opponent=Opponent.COMPUTER if computer else Opponent.PLAYER,
        computer_level="hard" if computer else None,
    )  # fmt: skip


@pytest.mark.parametrize("house", [{"computer_daily_cap": 15}], indirect=True)
async def test_rewards_against_the_computer_have_their_own_cap_within_the_daily_one(
    house: House,
) -> None:
    (a,) = await house.players(1)
    matches = [_ready_match(a, COMPUTER_WALLET, house.clock(), computer=True) for _ in range(3)]
    for match in matches:
        await Match.insert(match)
        await house.node.settle(str(match.id), 0, "three_in_a_row")

    ended = [await house.node.get(str(m.id)) for m in matches]
    assert [(m.rewards, m.reward_reasons) for m in ended] == [
        ([WIN, 0], [None, "computer"]),
        ([5, 0], ["computer_cap", "computer"]),
        ([0, 0], ["computer_cap", "computer"]),
    ]
    assert await rewards_of(a) == [WIN, 5]
    assert await rewards_of(COMPUTER_WALLET) == []
    day = utc_day(house.clock())
    coins, computer = (
        await RewardDay.get(coins_key(a, day)),
        await RewardDay.get(computer_key(a, day)),
    )
    assert coins is not None and computer is not None and coins.total == computer.total == 15
    # Against people the day's cap has room left.
    (b,) = await house.players(1)
    assert (await house.won_by(a, b)).rewards[0] == WIN


@pytest.mark.parametrize("house", [{"daily_cap": WIN, "pair_daily": 100}], indirect=True)
async def test_two_settlements_at_once_never_pass_the_cap(house: House) -> None:
    """Room for one reward and two wins settled at the same moment (on one node here; on
    two the transactions conflict the same way): one is paid, the other is capped."""
    a, b, c = await house.players(3)
    matches = [_ready_match(a, other, house.clock(), computer=False) for other in (b, c)]
    for match in matches:
        # `a` plays one active match at a time (the index one_active_match): left out of
        # `playing` so that two can be settled at once, as the cap must survive anyway.
        match.playing = [match.wallets[1]]
        await Match.insert(match)

    await asyncio.gather(*(house.node.settle(str(m.id), 0, "three_in_a_row") for m in matches))

    ended = [await house.node.get(str(m.id)) for m in matches]
    assert sorted(m.rewards[0] for m in ended) == [0, WIN]
    assert sorted(str(m.reward_reasons[0]) for m in ended) == ["None", "daily_cap"]
    assert await rewards_of(a) == [WIN]


def test_a_cap_reached_or_passed_pays_nothing_and_names_the_cap_that_bound() -> None:
    now = datetime(2026, 12, 4, tzinfo=UTC)
    day = utc_day(now)
    match = _ready_match("h", COMPUTER_WALLET, now, computer=True)
    wanted = [SeatReward(WIN), SeatReward(0, "computer")]
    tight = rules(daily_cap=100, computer_daily_cap=100)

    daily = capped(match, wanted, {coins_key("h", day): 96}, tight, day)
    computer = capped(match, wanted, {computer_key("h", day): 120}, tight, day)

    assert daily[0] == SeatReward(4, "daily_cap")
    assert computer[0] == SeatReward(0, "computer_cap")
