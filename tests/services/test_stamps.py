"""Stamps on the real database: each awarded once (also when two services, as two nodes,
award it at the same moment), told to the player, and its reward paid once."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import pytest
from bson import ObjectId
from pymongo import AsyncMongoClient

from clubpengu.models import Match, MatchLogEntry, MatchPlayer, MatchStatus
from clubpengu.models.base import utcnow
from clubpengu.progression.stamps import load_stamps
from clubpengu.progression.triggers import StampEvent
from clubpengu.services.economy import EconomyService
from clubpengu.services.stamps import StampService
from tests.conftest import TEST_DB
from tests.services.conftest import Pushes, add_player, entries, user_doc
from tests.transport.test_signin_commands import Recorder

Mongo = AsyncMongoClient[dict[str, Any]]
CATALOG = load_stamps()


class Spawned(list[asyncio.Task[Any]]):
    """A spawn that keeps the tasks, so a test can wait for what was reported."""

    def __call__(self, work: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(work, name=name)
        self.append(task)
        return task

    async def done(self) -> None:
        while self:
            await self.pop()


def _service(client: Mongo, pushes: Pushes, spawned: Spawned | None = None) -> StampService:
    economy = EconomyService(client, TEST_DB, notify=pushes)
    return StampService(
        client, TEST_DB, CATALOG, economy, pushes, Spawned() if spawned is None else spawned
    )


def _stamp(stamp_id: str) -> Any:
    stamp = CATALOG.get(stamp_id)
    assert stamp is not None
    return stamp


def _earned(pushes: Pushes) -> list[tuple[str, str]]:
    return [(w, f["stamp"]["id"]) for w, f in pushes if f["type"] == "stamp_earned"]


def _match(
    wallets: list[str],
    winner: int | None,
    *,
    game: str = "tictactoe",
    result: str = "three_in_a_row",
    moves: tuple[int, int] = (3, 2),
    **fields: Any,
) -> Match:
    now = utcnow()
    log = [
        MatchLogEntry(seq=0, seat=seat, wallet_address=wallets[seat], move={}, at=now)
        for seat in (0, 1)
        for _ in range(moves[seat])
    ]
    return Match(
        id=ObjectId(), game=game, wallets=wallets, status=MatchStatus.COMPLETED,
        players=[MatchPlayer(wallet_address=w, username=f"P-{w}") for w in wallets],
        winner_wallet=wallets[winner] if winner is not None else None, result=result,
        log=log, ended_at=now, settled_at=now, **fields,
    )  # fmt: skip


async def _wins(client: Mongo, wallet: str, game: str, wins: int) -> None:
    """What the settlement writes: `stats.games.<game>.wins`."""
    await client[TEST_DB]["users"].update_one(
        {"walletAddress": wallet}, {"$set": {f"stats.games.{game}.wins": wins}}
    )


async def test_a_stamp_with_a_reward_is_added_told_and_paid_once(
    mongo_client: Mongo, economy: EconomyService, pushes: Pushes
) -> None:
    await add_player(economy, "wa")
    service = _service(mongo_client, pushes)

    first = await service.award("wa", _stamp("first_win"))
    again = await service.award("wa", _stamp("first_win"))

    assert (first, again) == (True, False)
    assert (await user_doc(mongo_client, "wa"))["stamps"] == ["first_win"]
    rewards = [e for e in await entries(mongo_client, "wa") if e["type"] == "stamp_reward"]
    assert [(e["amount"], e["idempotencyKey"]) for e in rewards] == [(10, "stamp:wa:first_win")]
    assert _earned(pushes) == [("wa", "first_win")]
    stamp_push = next(f for _, f in pushes if f["type"] == "stamp_earned")
    assert stamp_push["stamp"] == {
        "id": "first_win", "name": "First Victory", "description": "Win your first match.",
        "category": "games", "difficulty": "easy", "reward": 10,
    }  # fmt: skip
    assert [f for _, f in pushes if f["type"] == "coins"] == [
        {"type": "coins", "coins": 10, "delta": 10, "reason": "stamp_reward"}
    ]


@pytest.mark.parametrize("stamp_id", ["first_win", "first_login"])
async def test_two_nodes_awarding_the_same_stamp_at_once_award_it_once(
    mongo_client: Mongo, economy: EconomyService, stamp_id: str
) -> None:
    await add_player(economy, "wb")
    told_a, told_b = Pushes(), Pushes()
    node_a, node_b = _service(mongo_client, told_a), _service(mongo_client, told_b)

    for _ in range(5):
        added = await asyncio.gather(
            node_a.award("wb", _stamp(stamp_id)), node_b.award("wb", _stamp(stamp_id))
        )
        assert sorted(added) in ([False, True], [False, False])

    assert (await user_doc(mongo_client, "wb"))["stamps"] == [stamp_id]
    assert len(_earned(told_a) + _earned(told_b)) == 1
    rewards = [e for e in await entries(mongo_client, "wb") if e["type"] == "stamp_reward"]
    assert len(rewards) == (1 if _stamp(stamp_id).reward else 0)
    assert (await user_doc(mongo_client, "wb"))["coins"] == _stamp(stamp_id).reward


async def test_the_tenth_win_of_a_game_earns_its_stamp_and_the_first_win_its_own(
    mongo_client: Mongo, economy: EconomyService, pushes: Pushes
) -> None:
    await add_player(economy, "wc")
    await add_player(economy, "wd")
    service = _service(mongo_client, pushes)

    await _wins(mongo_client, "wc", "tictactoe", 1)
    await service.match_ended(_match(["wc", "wd"], 0))
    await _wins(mongo_client, "wc", "tictactoe", 9)
    await service.match_ended(_match(["wc", "wd"], 0))
    before_tenth = _earned(pushes)
    await _wins(mongo_client, "wc", "tictactoe", 10)
    await service.match_ended(_match(["wd", "wc"], 1))
    await service.match_ended(_match(["wd", "wc"], 1))

    assert before_tenth == [("wc", "first_match"), ("wc", "first_win"), ("wd", "first_match")]
    assert _earned(pushes)[3:] == [("wc", "tictactoe_wins_10")]
    stamps = (await user_doc(mongo_client, "wc"))["stamps"]
    assert stamps == ["first_match", "first_win", "tictactoe_wins_10"]
    assert (await user_doc(mongo_client, "wd"))["stamps"] == ["first_match"]


async def test_a_draw_against_the_computer_on_hard_earns_its_stamp_and_on_easy_not(
    mongo_client: Mongo, economy: EconomyService, pushes: Pushes
) -> None:
    await add_player(economy, "we")
    service = _service(mongo_client, pushes)

    easy = _match(
        ["we", "computer"], None, result="draw", opponent="computer", computer_level="easy"
    )
    hard = _match(
        ["we", "computer"], None, result="draw", opponent="computer", computer_level="hard"
    )
    await service.match_ended(easy)
    assert _earned(pushes) == [("we", "first_match")]
    await service.match_ended(hard)

    assert _earned(pushes) == [("we", "first_match"), ("we", "tictactoe_hard_draw")]


async def test_puffle_care_is_counted_and_earns_at_its_count(
    mongo_client: Mongo, economy: EconomyService, pushes: Pushes
) -> None:
    await add_player(economy, "wf")
    spawned = Spawned()
    service = _service(mongo_client, pushes, spawned)

    for _ in range(9):
        service.report("wf", StampEvent("puffle_cared", action="feed"))
        await spawned.done()
    assert _earned(pushes) == []
    service.report("wf", StampEvent("puffle_cared", action="feed"))
    await spawned.done()

    assert _earned(pushes) == [("wf", "puffle_snack_time")]
    progress = (await user_doc(mongo_client, "wf"))["stampProgress"]
    assert progress == {"puffle_cared": 10, "puffle_cared:action=feed": 10}


async def test_buddies_earn_the_first_buddy_and_the_tenth(
    mongo_client: Mongo, economy: EconomyService, pushes: Pushes
) -> None:
    await add_player(economy, "wh")
    service = _service(mongo_client, pushes)

    first = await service.buddy_made("wh", 1)
    fifth = await service.buddy_made("wh", 5)
    tenth = await service.buddy_made("wh", 10)

    assert [[s.id for s in got] for got in (first, fifth, tenth)] == [
        ["first_buddy"], [], ["popular_penguin"]
    ]  # fmt: skip


async def test_a_wallet_without_a_player_gets_nothing(
    mongo_client: Mongo, economy: EconomyService, pushes: Pushes
) -> None:
    service = _service(mongo_client, pushes)

    assert await service.award("nobody", _stamp("first_win")) is False
    assert await service.award("nobody", _stamp("first_login")) is False
    assert pushes == [] and await entries(mongo_client) == []


@pytest.mark.parametrize(
    ("fields", "why"),
    [({"result": "forfeit"}, "handed over"), ({"moves": (3, 1)}, "the loser made one move")],
)
async def test_a_win_handed_over_earns_no_stamp(
    mongo_client: Mongo, economy: EconomyService, pushes: Pushes, fields: dict[str, Any], why: str
) -> None:
    await add_player(economy, "wi")
    await add_player(economy, "wj")
    await _wins(mongo_client, "wi", "tictactoe", 1)
    service = _service(mongo_client, pushes)
    service.min_moves = 2

    await service.match_ended(_match(["wi", "wj"], 0, **fields))

    assert _earned(pushes) == [], why


async def test_the_players_of_matches_ending_together_are_read_in_one_find(
    mongo_uri: str, pushes: Pushes
) -> None:
    recorder = Recorder()
    client: Mongo = AsyncMongoClient(mongo_uri, tz_aware=True, event_listeners=[recorder])
    try:
        service = _service(client, pushes)
        matches = [_match([f"ta{n}", f"tb{n}"], 0) for n in range(5)]
        for match in matches:
            for wallet in match.wallets:
                await add_player(service.economy, wallet)
        # Nothing left to earn but the tenth win: only the reads are counted.
        await client[TEST_DB]["users"].update_many(
            {}, {"$set": {"stamps": ["first_match", "first_win"]}}
        )
        for n in range(5):  # what the settlements wrote
            await _wins(client, f"ta{n}", "tictactoe", 10 if n == 4 else 1)
        recorder.sent.clear()

        await asyncio.gather(*(service.match_ended(match) for match in matches))

        reads = [s for s in recorder.sent if (s.name, s.collection) == ("find", "users")]
        assert 1 <= len(reads) <= 2  # the first match alone, or with the others
        assert _earned(pushes) == [("ta4", "tictactoe_wins_10")]
    finally:
        await client.close()
