"""Many whole matches against the computer through the match service on the real
database, a random person in the other seat: the computer's every move is accepted by the
rules (the service would refuse an illegal one and the match would end by timeout), every
match ends by the rules, and its log replays."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import pytest
from bson import ObjectId
from pymongo import AsyncMongoClient

from clubpengu.games import GAMES, get_game, replay
from clubpengu.games.base import Move
from clubpengu.games.computer import Level
from clubpengu.models import COMPUTER_WALLET, Match, MatchStatus
from clubpengu.services.economy import EconomyService
from clubpengu.services.matches import MatchService, Timing
from clubpengu.services.matches.computer import computer_to_move
from clubpengu.services.matches.computer_pool import ComputerPool
from clubpengu.services.notices import ignore
from tests.conftest import TEST_DB
from tests.services.conftest import add_player
from tests.waiting import eventually

Mongo = AsyncMongoClient[dict[str, Any]]
GAMES_EACH = 6


@pytest.fixture
async def node(mongo_client: Mongo) -> AsyncIterator[MatchService]:
    economy = EconomyService(mongo_client, TEST_DB)
    service = MatchService(mongo_client, TEST_DB, economy, ignore, Timing(), computer_workers=0)
    yield service
    await service.stop()


async def _settled_or_ours(node: MatchService, match_id: str, seat: int) -> Match | None:
    """The match once it waits for `seat` or is over (None while the computer thinks)."""
    match = await node.get(match_id)
    if match.status != MatchStatus.ACTIVE:
        return match
    game = get_game(match.game)
    waiting = game.seats_to_move(match.state)
    return match if seat in waiting and not computer_to_move(match) else None


@pytest.mark.parametrize("game_id", sorted(GAMES))
async def test_random_people_against_every_level_get_only_legal_moves_and_replays(
    node: MatchService, game_id: str
) -> None:
    game = get_game(game_id)
    rng = random.Random(f"computer:{game_id}")
    for number in range(GAMES_EACH):
        wallet = f"w{ObjectId()}"
        await add_player(node.economy, wallet)
        level = list(Level)[number % len(Level)]
        match = await node.play_computer(wallet, game_id, level, None)
        seat = match.wallets.index(wallet)
        match_id = str(match.id)
        while True:
            match = await eventually(
                partial(_settled_or_ours, node, match_id, seat), f"{game_id} waits for us"
            )
            if match.status != MatchStatus.ACTIVE:
                break
            move = rng.choice(game.legal_moves(match.state, seat))
            await node.move(wallet, match_id, move)

        outcome = game.outcome(match.state)
        assert outcome is not None and match.result == outcome.reason, match.result
        assert replay(game, match.seed, match.moves()) == match.state
        assert match.computer_level == level
        assert any(e.wallet_address == COMPUTER_WALLET for e in match.log)


@pytest.mark.parametrize("game_id", sorted(GAMES))
def test_the_pool_only_ever_plays_moves_the_rules_accept(game_id: str) -> None:
    """Whole games as the service plays them (the pool's `choose`: the match's level, its
    seed and `move_seed`), the person's moves drawn by hypothesis: `apply` accepts every
    move of the computer's, whatever came before."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from clubpengu.models import MatchPlayer, Opponent

    game = get_game(game_id)

    @settings(max_examples=40, deadline=None, database=None)
    @given(
        seed=st.integers(min_value=0, max_value=2**63 - 1),
        level=st.sampled_from(list(Level)),
        computer=st.sampled_from([0, 1]),
        person=st.randoms(use_true_random=False),
    )
    def whole_game(seed: int, level: Level, computer: int, person: random.Random) -> None:
        wallets = ["w-person", "w-person"]
        wallets[computer] = COMPUTER_WALLET
        match = Match(
            game=game_id, wallets=wallets, state=game.new_state(seed), seed=seed,
            players=[MatchPlayer(wallet_address=w, username=w) for w in wallets],
            opponent=Opponent.COMPUTER, computer_level=level,
        )  # fmt: skip
        pool = ComputerPool(0)
        try:
            while game.outcome(match.state) is None:
                for seat in game.seats_to_move(match.state):
                    if seat == computer:
                        move = asyncio.run(pool.choose(match, seat))
                    else:
                        move = person.choice(game.legal_moves(match.state, seat))
                    match.state = game.apply(match.state, seat, move)  # raises if illegal
                    match.seq += 1
        finally:
            asyncio.run(pool.stop())

    whole_game()


class CountingPool(ComputerPool):
    """The thread pool, counting the moves asked of it; each takes `delay` seconds at least
    (a busy worker)."""

    def __init__(self, delay: float) -> None:
        super().__init__(0)
        self.delay = delay
        self.asked = 0

    async def choose(self, match: Match, seat: int) -> Move:
        self.asked += 1
        await asyncio.sleep(self.delay)
        return await super().choose(match, seat)


@pytest.mark.parametrize(("budget", "delay"), [(5.0, 0.0), (0.001, 0.05)])
async def test_each_answer_is_asked_of_the_pool_once_in_time_or_not(
    mongo_client: Mongo, budget: float, delay: float
) -> None:
    """Within the budget the answer is written with the move (two log entries, one
    version check); past it the move is written alone and the answer being computed is
    played by the wake, not asked again."""
    economy = EconomyService(mongo_client, TEST_DB)
    node = MatchService(mongo_client, TEST_DB, economy, ignore, Timing(computer_answer=budget))
    pool = CountingPool(delay)
    node.computer_pool = node.computer.pool = pool
    try:
        wallet = f"w{ObjectId()}"
        await add_player(economy, wallet)
        match = await node.play_computer(wallet, "connect_four", "easy", None)
        seat, match_id = match.wallets.index(wallet), str(match.id)
        rng = random.Random(1)
        while True:
            match = await eventually(partial(_settled_or_ours, node, match_id, seat), "our turn")
            if match.status != MatchStatus.ACTIVE:
                break
            after = await node.move(wallet, match_id, rng.choice(
                get_game("connect_four").legal_moves(match.state, seat)))  # fmt: skip
            answered = after.seq == match.seq + 2
            assert answered == (budget > delay) or after.status != MatchStatus.ACTIVE
        computer_moves = sum(1 for e in match.log if e.wallet_address == COMPUTER_WALLET)
        assert pool.asked == computer_moves
        assert not node.computer.pending
        assert replay(get_game("connect_four"), match.seed, match.moves()) == match.state
    finally:
        await node.stop()
