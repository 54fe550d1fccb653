"""What a match against the computer costs the database, command by command, against the
real database: the start, and a move of the player with the computer's answer. So that
the count, and the journal flushes, cannot creep back up.

Counted as in test_signin_commands.py (the server's client records every command; the
writes batched across players, the node's periodic checks and the driver's monitoring
are left out). A "journal wait" is a command whose reply waits for the journal (`j: true`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from bson import ObjectId

from clubpengu.config import Settings
from clubpengu.models import COMPUTER_WALLET, Match
from tests.services.test_match_rewards import _ready_match
from tests.support import Client, Wallet, enter
from tests.transport.test_signin_commands import (
    Recorded,
    Sent,
    _journaled,
    _kinds,
    _recorded,
    _settle,
    _shipped,
)
from tests.waiting import eventually

# A match's start (MatchService._start_alone): no transaction, since no coins move and
# one person plays: the claim of their user (`activeMatches` + 1), then the Match insert,
# which the unique index `one_active_match` refuses while they play another; neither
# waits for the journal, one barrier puts both in it before `match_start`. The player's
# name comes from the room they are in: no read.
START = Counter(
    {
        ("update", "users"): 1,
        ("insert", "matches"): 1,
        ("update", "journal_barrier"): 1,
    }
)
# A move that does not end the match, with the computer's answer ready within
# COMPUTER_ANSWER_BUDGET: both in ONE update of the Match, not waiting for the journal,
# and one journal barrier, which every move written while it waits shares (one flush for
# many moves under load).
MOVE_AND_ANSWER = Counter({("update", "matches"): 1, ("update", "journal_barrier"): 1})
BARRIER_WAITS = [("update", "journal_barrier")]
# The answer not ready within the budget (here: a budget of 0): the player's move and then
# the computer's, each one update and a barrier.
MOVE_THEN_ANSWER = Counter({("update", "matches"): 2, ("update", "journal_barrier"): 2})
# One move written alone: the computer's first, when not ready within the budget of the
# start (when it is, the start's insert carries it: START alone).
MOVE_ALONE = Counter({("update", "matches"): 1, ("update", "journal_barrier"): 1})


@pytest.fixture
async def recorded(mongo_uri: str, settings: Settings) -> AsyncIterator[Recorded]:
    # One computer move at a time in a thread: the count does not depend on a worker. A
    # budget no answer misses on a busy machine: the count does not depend on its load.
    shipped = _shipped(settings, computer_workers=0, computer_answer_budget=10.0)
    async with _recorded(mongo_uri, shipped) as running:
        yield running


@pytest.fixture
async def unanswered(mongo_uri: str, settings: Settings) -> AsyncIterator[Recorded]:
    """The move never waits for the computer's answer (COMPUTER_ANSWER_BUDGET=0)."""
    shipped = _shipped(settings, computer_workers=0, computer_answer_budget=0.0)
    async with _recorded(mongo_uri, shipped) as running:
        yield running


def _counted(recorded: Recorded) -> list[Sent]:
    # The poll for balances changed outside the node runs on its own timer.
    return [s for s in recorded.recorder.counted() if s.collection != "coin_notices"]


async def _our_turn(client: Client, frame: dict[str, Any]) -> dict[str, Any]:
    """`frame`, or the next match frame after it, once the match waits for our seat."""
    while frame["seat"] not in frame["toMove"]:
        frame = await client.recv_type("match_state", timeout=30)
    return frame


async def _start(recorded: Recorded) -> tuple[Client, dict[str, Any], list[Sent]]:
    client, _, _ = await enter(recorded.server.ws_url, Wallet(), room="dojo")
    await _settle_with(recorded, client)
    recorded.recorder.sent.clear()
    started = await client.call(
        {"type": "challenge", "opponent": "computer", "game": "connect_four", "level": "easy"}
    )
    assert started["type"] == "match_start", started
    return client, started, _counted(recorded)


async def _settle_with(recorded: Recorded, client: Client) -> None:
    """Wait for the join's background work while `client` stays in its room."""
    node = recorded.server.node
    assert await node.tasks.wait(within=30.0)
    await node.services.connection_log.flush()
    # The join's presence (a `users` update) goes by its own group writer, not a task.
    await node.services.presence.writer.flush()
    await client.call({"type": "ping"})


async def test_a_match_against_the_computer_starts_with_three_commands_one_waiting(
    recorded: Recorded,
) -> None:
    client, _, sent = await _start(recorded)
    await client.close()
    await _settle(recorded.server)

    assert _kinds(sent) == START
    assert _journaled(sent) == [("update", "journal_barrier")]


async def _card_jitsu_start(recorded: Recorded) -> tuple[Client, dict[str, Any]]:
    """A card-jitsu match's start: both seats pick at once, so the computer always has a
    first move to make."""
    client, _, _ = await enter(recorded.server.ws_url, Wallet(), room="dojo")
    await _settle_with(recorded, client)
    recorded.recorder.sent.clear()
    started = await client.call(
        {"type": "challenge", "opponent": "computer", "game": "card_jitsu", "level": "easy"}
    )
    assert started["type"] == "match_start", started
    return client, started


async def test_the_computers_first_move_rides_on_the_start(recorded: Recorded) -> None:
    client, started = await _card_jitsu_start(recorded)
    computer = recorded.server.node.services.matches.computer
    # Played after the start, the move would be in flight here until written.
    await eventually(lambda: not computer.thinking, "no computer move in flight")
    await recorded.server.node.tasks.wait(within=5.0)
    sent = _counted(recorded)
    await client.close()
    await _settle(recorded.server)

    # Its pick is in the inserted Match: no update of its own, and `match_start` is one
    # move on, waiting for the player's pick only.
    assert _kinds(sent) == START
    assert _journaled(sent) == [("update", "journal_barrier")]
    assert started["seq"] == 1 and started["toMove"] == [started["seat"]]
    match = await Match.get(ObjectId(started["matchId"]))
    assert match is not None and match.version == 1
    assert [entry.wallet_address for entry in match.log] == [COMPUTER_WALLET]


async def test_a_first_move_not_ready_in_time_is_written_after_the_start(
    unanswered: Recorded,
) -> None:
    client, started = await _card_jitsu_start(unanswered)
    picked = await client.recv_type("match_state", timeout=30)
    sent = _counted(unanswered)
    await client.close()
    await _settle(unanswered.server)

    assert started["seq"] == 0 and picked["seq"] == 1
    assert _kinds(sent) == START + MOVE_ALONE
    assert _journaled(sent) == [("update", "journal_barrier")] * 2


async def _move_and_answer(recorded: Recorded) -> tuple[int, dict[str, Any], list[Sent]]:
    """The commands of one move of the player that does not end the match, until the
    computer has answered (in the reply, or a `match_state` after it); the seq the move
    was made at and the reply."""
    client, started, _ = await _start(recorded)
    frame = await _our_turn(client, started)
    await recorded.server.node.tasks.wait(within=5.0)
    recorded.recorder.sent.clear()
    # The bottom row's first free column: with at most one disc of each side on the
    # board, no move ends the game.
    column = next(c for c in range(7) if frame["view"]["board"][-1][c] is None)

    reply = await client.call(
        {"type": "match_move", "matchId": started["matchId"], "move": {"column": column}}
    )
    assert reply["type"] == "match_state", reply
    await _our_turn(client, reply)
    sent = _counted(recorded)
    await client.close()
    await _settle(recorded.server)
    return frame["seq"], reply, sent


async def test_a_move_and_the_computers_answer_are_one_update_and_one_barrier(
    recorded: Recorded,
) -> None:
    seq, reply, sent = await _move_and_answer(recorded)

    assert _kinds(sent) == MOVE_AND_ANSWER
    assert _journaled(sent) == BARRIER_WAITS
    # The reply already shows the computer's answer: the player's turn again, two moves on.
    assert reply["seat"] in reply["toMove"]
    assert reply["seq"] == seq + 2


async def test_an_answer_not_ready_in_time_is_written_after_the_move(
    unanswered: Recorded,
) -> None:
    seq, reply, sent = await _move_and_answer(unanswered)

    assert _kinds(sent) == MOVE_THEN_ANSWER
    assert _journaled(sent) == [("update", "journal_barrier")] * 2
    assert reply["seat"] not in reply["toMove"]
    assert reply["seq"] == seq + 1


# The settlement of a match against the computer (settlement.py), in its transaction: the
# Match's update, then the player's results (`stats.computer`, `activeMatches` - 1), the
# commit, and the barrier before `match_end`. Won, with a reward: the day's reward
# counters read, the ledger's three writes (the balance update, which carries the results:
# no write of its own; the balance read; the entry) and the counters' update.
SETTLED_LOST = Counter(
    {
        ("update", "matches"): 1,
        ("update", "users"): 1,
        ("commitTransaction", "admin"): 1,
        ("update", "journal_barrier"): 1,
    }
)
SETTLED_WON = SETTLED_LOST + Counter(
    {
        ("find", "reward_days"): 1,
        ("find", "users"): 1,
        ("insert", "transactions"): 1,
        ("update", "reward_days"): 1,
    }
)


@pytest.mark.parametrize(("won", "expected"), [(True, SETTLED_WON), (False, SETTLED_LOST)])
async def test_a_match_against_the_computer_is_settled_in_one_transaction(
    recorded: Recorded, won: bool, expected: Counter[tuple[str, str]]
) -> None:
    wallet = Wallet()
    client, _, _ = await enter(recorded.server.ws_url, wallet, room="dojo")
    await _settle_with(recorded, client)
    match = _ready_match(wallet.address, COMPUTER_WALLET, recorded.clock(), computer=True)
    await Match.insert(match)
    service = recorded.server.node.services.matches
    await service.users.update_one(
        {"walletAddress": wallet.address}, {"$inc": {"activeMatches": 1}}
    )
    recorded.recorder.sent.clear()

    settled = await service.settle(str(match.id), 0 if won else 1, "three_in_a_row")
    sent = [s for s in _counted(recorded) if s.name != "find" or s.collection != "matches"]
    await client.close()
    await _settle(recorded.server)

    assert settled is not None and bool(settled.coins) == won
    assert _kinds(sent) == expected
    assert _journaled(sent) == [("update", "journal_barrier")]
    user = await service.users.find_one({"walletAddress": wallet.address})
    assert user is not None and user["activeMatches"] == 0
    assert user["stats"]["computer"]["tictactoe"] == {"wins" if won else "losses": 1}
