"""The wager gates and the refunded early give-up, over real WebSockets with the economy's
default settings (each test says what it changes), on a clock the test moves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from clubpengu.config import Settings
from clubpengu.games import get_game
from clubpengu.models import Challenge, Match, Transaction, User, WagerDay
from clubpengu.progression.stamps import load_stamps
from clubpengu.services.wager_gates import pair_key, utc_day, won_key
from tests.support import Client, MovableClock, RunningServer, Wallet, economy_defaults, enter
from tests.support import run_server as serve

Mongo = AsyncMongoClient[dict[str, Any]]
WIN_FOR_SEAT_0 = (0, 3, 1, 4, 2)


@dataclass
class Penguin:
    wallet: Wallet
    client: Client
    player_id: str


@dataclass
class Seats:
    """A started match: its id, and its penguins by seat."""

    id: str
    by_seat: dict[int, Penguin]

    def __getitem__(self, seat: int) -> Penguin:
        return self.by_seat[seat]


@dataclass
class World:
    server: RunningServer
    clock: MovableClock

    async def penguin(self, coins: int = 500) -> Penguin:
        wallet = Wallet()
        client, _, joined = await enter(self.server.ws_url, wallet, room="dojo")
        if coins:
            await self.server.node.services.economy.apply(
                wallet.address, coins, "admin_adjustment", idempotency_key=f"g:{wallet.address}",
                actor="admin:test",
            )  # fmt: skip
            await client.recv_type("coins")
        return Penguin(wallet, client, joined["playerId"])

    async def challenge(self, a: Penguin, b: Penguin, wager: int) -> dict[str, Any]:
        return await a.client.call({"type": "challenge", "targetPlayerId": b.player_id,
                                    "game": "tictactoe", "wager": wager})  # fmt: skip

    async def start(self, a: Penguin, b: Penguin, wager: int) -> Seats:
        """a challenges b, b accepts."""
        sent = await self.challenge(a, b, wager)
        assert sent["type"] == "challenge_sent", sent
        await b.client.recv_type("challenge")
        started = await b.client.call(
            {"type": "challenge_accept", "challengeId": sent["challengeId"]}
        )
        assert started["type"] == "match_start", started
        await a.client.recv_type("match_start")
        return Seats(started["matchId"], {started["seat"]: b, 1 - started["seat"]: a})

    async def play(self, seats: Seats, cells: tuple[int, ...]) -> None:
        for turn, cell in enumerate(cells):
            reply = await seats[turn % 2].client.call(
                {"type": "match_move", "matchId": seats.id, "move": {"cell": cell}}
            )
            assert reply["type"] in {"match_state", "match_end"}, reply

    async def free_matches(self, a: Penguin, b: Penguin, count: int) -> None:
        """Whole free games, seat 0 winning in five moves (the loser made two)."""
        for _ in range(count):
            seats = await self.start(a, b, 0)
            await self.play(seats, WIN_FOR_SEAT_0)
            for penguin in (a, b):
                await penguin.client.recv_type("match_end")

    async def close(self, *penguins: Penguin) -> None:
        for penguin in penguins:
            await penguin.client.close()


@pytest.fixture
async def world(settings: Settings, mongo_client: Mongo) -> AsyncIterator[World]:
    clock = MovableClock()
    async with serve(economy_defaults(settings), mongo_client, clock=clock) as server:
        yield World(server, clock)


async def _coins(penguin: Penguin) -> int:
    user = await User.find_one(User.wallet_address == penguin.wallet.address)
    assert user is not None
    return user.coins


async def _free_matches(penguin: Penguin) -> int:
    user = await User.find_one(User.wallet_address == penguin.wallet.address)
    assert user is not None
    return user.free_matches


async def test_new_accounts_may_play_free_matches_but_not_wager(world: World) -> None:
    a, b = await world.penguin(), await world.penguin()

    wagered = await world.challenge(a, b, 10)
    free = await world.challenge(a, b, 0)
    await world.close(a, b)

    assert wagered["code"] == "wager_locked" and "24 h" in wagered["message"]
    assert free["type"] == "challenge_sent"
    assert [c.wager for c in await Challenge.find_all().to_list()] == [0]  # nothing else stored


async def test_wagers_open_after_a_day_and_three_free_matches_played(world: World) -> None:
    a, b = await world.penguin(), await world.penguin()
    await world.free_matches(a, b, 2)
    world.clock.advance(hours=24, minutes=1)

    two_played = await world.challenge(a, b, 10)
    await world.free_matches(a, b, 1)
    three_played = await world.challenge(a, b, 10)
    await world.close(a, b)

    assert two_played["code"] == "wager_locked"
    assert (
        "3 finished free matches" in two_played["message"] and "finished 2" in two_played["message"]
    )
    assert three_played["type"] == "challenge_sent"
    assert await _free_matches(a) == 3 and await _free_matches(b) == 3


async def test_the_target_is_held_to_the_gates_as_the_challenger_is(world: World) -> None:
    a, b = await world.penguin(), await world.penguin()
    await world.free_matches(a, b, 3)
    world.clock.advance(hours=24, minutes=1)
    newcomer = await world.penguin()
    await world.free_matches(a, newcomer, 3)

    to_newcomer = await world.challenge(a, newcomer, 10)
    from_newcomer = await world.challenge(newcomer, a, 10)
    unlocked = await world.challenge(a, b, 10)
    await world.close(a, b, newcomer)

    assert to_newcomer["code"] == from_newcomer["code"] == "wager_locked"
    assert "24 h" in to_newcomer["message"] and "24 h" in from_newcomer["message"]
    assert unlocked["type"] == "challenge_sent"
    assert [c.wager for c in await Challenge.find_all().to_list() if c.wager] == [10]


async def test_a_free_match_given_up_at_once_does_not_count(world: World) -> None:
    a, b = await world.penguin(), await world.penguin()
    seats = await world.start(a, b, 0)

    await seats[0].client.call({"type": "match_forfeit", "matchId": seats.id})
    await world.close(a, b)

    assert await _free_matches(a) == 0 and await _free_matches(b) == 0


@pytest.fixture
async def open_world(settings: Settings, mongo_client: Mongo) -> AsyncIterator[World]:
    """The default limits, with the age and free-match gates open (so the limits are what
    is tested)."""
    clock = MovableClock()
    opened = economy_defaults(settings).with_overrides(wager_min_account_age=0.0,
                                                       wager_min_matches=0)  # fmt: skip
    async with serve(opened, mongo_client, clock=clock) as server:
        yield World(server, clock)


async def test_two_wallets_move_at_most_the_pair_limit_a_day(open_world: World) -> None:
    world = open_world
    a, b = await world.penguin(), await world.penguin()
    today = utc_day(world.clock.now)
    seats = await world.start(a, b, 150)
    await world.play(seats, WIN_FOR_SEAT_0)
    winner, loser = seats[0], seats[1]

    too_much = await world.challenge(loser, winner, 100)
    rest = await world.challenge(loser, winner, 50)
    await loser.client.call({"type": "challenge_cancel", "challengeId": rest["challengeId"]})
    world.clock.advance(days=1)
    next_day = await world.challenge(winner, loser, 200)
    await world.close(a, b)

    assert too_much["code"] == "wager_limit"
    assert "may wager 50 more coins with each other today (200 a day)" in too_much["message"]
    assert rest["type"] == "challenge_sent" and next_day["type"] == "challenge_sent"
    pair = await WagerDay.get(pair_key(a.wallet.address, b.wallet.address, today))
    won = await WagerDay.get(won_key(winner.wallet.address, today))
    assert pair is not None and pair.coins == 150 and won is not None and won.coins == 150


STAMPS = {stamp.id: stamp for stamp in load_stamps()}


async def _win(world: World, seats: Seats, winner: Penguin) -> bool:
    """`winner` wins: by the rules from seat 0, else by the other's forfeit after two moves
    each (which pays, as a game was played). Whether the other gave up."""
    if seats[0] is winner:
        await world.play(seats, WIN_FOR_SEAT_0)
        return False
    await world.play(seats, (0, 1, 2, 3))
    await seats[0].client.call({"type": "match_forfeit", "matchId": seats.id})
    return True


async def test_one_wallet_wins_at_most_the_daily_win_limit(
    settings: Settings, mongo_client: Mongo
) -> None:
    limits = economy_defaults(settings).with_overrides(
        wager_min_account_age=0.0, wager_min_matches=0, wager_daily_win_limit=100
    )
    async with serve(limits, mongo_client) as server:
        world = World(server, MovableClock())
        winner, first, second = await world.penguin(), await world.penguin(), await world.penguin()
        gave_up = await _win(world, await world.start(first, winner, 60), winner)
        refused = await world.challenge(second, winner, 50)
        allowed = await world.challenge(second, winner, 40)
        await world.close(winner, first, second)
        assert await server.node.tasks.wait(within=10.0)  # the match's stamps, awarded aside

    # The stake won, and when the game was won by the rules the house's reward and the
    # first win's stamp.
    played_out = get_game("tictactoe").reward_win + STAMPS["first_win"].reward
    assert await _coins(winner) == 560 + (0 if gave_up else played_out)
    assert refused["code"] == "wager_limit"
    assert "may win 40 more coins from wagers today (100 a day)" in refused["message"]
    assert allowed["type"] == "challenge_sent"


async def test_the_gates_are_checked_again_when_the_challenge_is_accepted(
    settings: Settings, mongo_client: Mongo
) -> None:
    limits = economy_defaults(settings).with_overrides(
        wager_min_account_age=0.0, wager_min_matches=0, wager_daily_win_limit=100
    )
    async with serve(limits, mongo_client) as server:
        world = World(server, MovableClock())
        b, a, c = await world.penguin(), await world.penguin(), await world.penguin()
        pending = await world.challenge(a, b, 80)  # b could win 80 of its 100 now
        await b.client.recv_type("challenge")
        await _win(world, await world.start(c, b, 60), b)  # ... but first beats c for 60
        accepted = await b.client.call({"type": "challenge_accept",
                                        "challengeId": pending["challengeId"]})  # fmt: skip
        await world.close(a, b, c)

    assert accepted["code"] == "wager_limit"
    assert await Match.find({"wallets": a.wallet.address}).count() == 0
    escrows = Transaction.find({"walletAddress": a.wallet.address, "type": "match_escrow"})
    assert await _coins(a) == 500 and await escrows.count() == 0


async def test_a_wager_given_up_before_two_moves_refunds_both_stakes(open_world: World) -> None:
    world = open_world
    a, b = await world.penguin(), await world.penguin()
    seats = await world.start(a, b, 30)
    await world.play(seats, (4,))  # seat 0 moved once, seat 1 never

    await seats[1].client.call({"type": "match_forfeit", "matchId": seats.id})
    ends = [await seats[seat].client.recv_type("match_end") for seat in (0, 1)]
    await world.close(a, b)

    assert [e["result"] for e in ends] == ["win", "loss"] and all(e["refunded"] for e in ends)
    assert await _coins(a) == 500 and await _coins(b) == 500
    match = await Match.get(seats.id)
    assert match is not None and match.stakes_refunded and match.result == "forfeit"
    types = sorted(t.type for t in await Transaction.find({"proof.matchId": seats.id}).to_list())
    assert types == ["match_escrow", "match_escrow", "match_refund", "match_refund"]
    assert await WagerDay.count() == 0  # nothing moved, nothing counted
    assert (await world.server.node.services.economy.verify_ledger()).ok


async def test_a_wager_given_up_after_two_moves_pays_the_winner(open_world: World) -> None:
    world = open_world
    a, b = await world.penguin(), await world.penguin()
    seats = await world.start(a, b, 30)
    await world.play(seats, (0, 1, 2, 3))

    await seats[1].client.call({"type": "match_forfeit", "matchId": seats.id})
    end = await seats[0].client.recv_type("match_end")
    await world.close(a, b)

    assert end["result"] == "win" and end["refunded"] is False
    assert await _coins(seats[0]) == 530 and await _coins(seats[1]) == 470
    assert await WagerDay.count() == 2  # the pair's and the winner's


async def test_an_early_timeout_refunds_both_stakes(
    settings: Settings, mongo_client: Mongo
) -> None:
    quick = economy_defaults(settings).with_overrides(
        wager_min_account_age=0.0, wager_min_matches=0, match_turn_seconds=0.3
    )
    async with serve(quick, mongo_client) as server:
        world = World(server, MovableClock())
        a, b = await world.penguin(), await world.penguin()
        seats = await world.start(a, b, 20)
        await world.play(seats, (4,))
        end = await seats[0].client.recv_type("match_end")
        await world.close(a, b)

    assert end["reason"] == "timeout" and end["refunded"] is True
    assert await _coins(a) == 500 and await _coins(b) == 500


async def test_an_early_disconnect_refunds_both_stakes(
    settings: Settings, mongo_client: Mongo
) -> None:
    quick = economy_defaults(settings).with_overrides(
        wager_min_account_age=0.0, wager_min_matches=0, match_disconnect_grace_seconds=0.2
    )
    async with serve(quick, mongo_client) as server:
        world = World(server, MovableClock())
        a, b = await world.penguin(), await world.penguin()
        seats = await world.start(a, b, 20)
        await world.play(seats, (4, 0))  # one move each
        await seats[1].client.close()
        end = await seats[0].client.recv_type("match_end")
        await seats[0].client.close()

    assert end["reason"] == "disconnect" and end["result"] == "win" and end["refunded"] is True
    assert await _coins(a) == 500 and await _coins(b) == 500
    refunds = await Transaction.find({"proof.matchId": seats.id, "type": "match_refund"}).count()
    assert refunds == 2
