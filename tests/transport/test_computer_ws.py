"""Matches against the computer over real WebSockets: one per game played to the end by
random legal moves, the computer's moves computed in its worker process; a wager refused;
a player who leaves."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from typing import Any

import pytest
from bson import ObjectId
from pymongo import AsyncMongoClient

from clubpengu.config import Settings
from clubpengu.games import GAMES, get_game, replay
from clubpengu.models import COMPUTER_WALLET, Match, MatchStatus, Transaction, User
from tests.support import Client, RunningServer, Wallet, economy_defaults, enter
from tests.support import run_server as serve
from tests.waiting import eventually

Mongo = AsyncMongoClient[dict[str, Any]]


@pytest.fixture
async def server(settings: Settings, mongo_client: Mongo) -> AsyncIterator[RunningServer]:
    async with serve(economy_defaults(settings), mongo_client) as running:
        yield running


async def play_out(client: Client, started: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """Random legal moves (read from the database: the client's view is not the whole
    state) whenever the match waits for our seat; returns our `match_end`."""
    match_id, seat = started["matchId"], started["seat"]
    game = get_game(started["game"])
    frame = started
    while frame["type"] != "match_end":
        match = await Match.get(ObjectId(match_id))
        assert match is not None
        if match.status == MatchStatus.ACTIVE and seat in game.seats_to_move(match.state):
            move = rng.choice(game.legal_moves(match.state, seat))
            reply = await client.call({"type": "match_move", "matchId": match_id, "move": move})
            assert reply["type"] in {"match_state", "match_end"}, reply
            frame = reply
            continue
        # Generous: the first move waits for the computer's worker to start, and this
        # machine may be busy; the promise of a second is the benchmark's to measure.
        frame = await client.recv(timeout=60)
        while frame.get("type") not in {"match_state", "match_end"}:
            frame = await client.recv(timeout=60)
    return frame


@pytest.mark.parametrize("game_id", sorted(GAMES))
async def test_a_match_against_the_computer_is_played_to_the_end_and_replays(
    server: RunningServer, game_id: str
) -> None:
    wallet = Wallet()
    client, _, _ = await enter(server.ws_url, wallet, room="dojo")
    started = await client.call(
        {"type": "challenge", "opponent": "computer", "game": game_id, "level": "hard"}
    )
    assert started["type"] == "match_start", started
    assert started["opponent"] == "computer" and started["level"] == "hard"
    assert started["wager"] == 0
    computer = 1 - started["seat"]
    assert started["players"][computer]["walletAddress"] == COMPUTER_WALLET

    ended = await play_out(client, started, random.Random(game_id))
    await client.close()

    match = await Match.get(ObjectId(started["matchId"]))
    assert match is not None and match.status == MatchStatus.COMPLETED
    game = get_game(game_id)
    outcome = game.outcome(match.state)
    assert outcome is not None and match.result == outcome.reason  # decided by the rules
    assert replay(game, match.seed, match.moves()) == match.state
    assert {entry.seat for entry in match.log} == {0, 1}
    assert all(
        (entry.wallet_address == COMPUTER_WALLET) == (entry.seat == computer) for entry in match.log
    )
    # The player's reward is what match_end said, paid once; the computer gets nothing.
    paid = await Transaction.find({"proof.matchId": started["matchId"]}).to_list()
    assert [t.wallet_address for t in paid] == ([wallet.address] if ended["reward"] else [])
    assert sum(t.amount for t in paid) == ended["reward"] == match.rewards[started["seat"]]
    assert match.rewards[computer] == 0 and match.reward_reasons[computer] == "computer"
    user = await User.find_one(User.wallet_address == wallet.address)
    assert user is not None
    counts = (user.stats.model_extra or {})["computer"][game_id]
    assert sum(counts.values()) == 1 and user.free_matches == 0


async def test_a_wager_against_the_computer_is_refused_and_nothing_changes(
    server: RunningServer,
) -> None:
    wallet = Wallet()
    client, _, _ = await enter(server.ws_url, wallet, room="dojo")
    await server.node.services.economy.apply(
        wallet.address, 100, "admin_adjustment", idempotency_key="g", actor="admin:test"
    )
    await client.recv_type("coins")

    wagered = await client.call(
        {"type": "challenge", "opponent": "computer", "game": "tictactoe", "wager": 10}
    )
    free_but_said = await client.call(
        {"type": "challenge", "opponent": "computer", "game": "tictactoe", "wager": 0}
    )
    targeted = await client.call(
        {"type": "challenge", "opponent": "computer", "game": "tictactoe", "targetPlayerId": "p1"}
    )
    bad_level = await client.call(
        {"type": "challenge", "opponent": "computer", "game": "tictactoe", "level": "godlike"}
    )
    no_game = await client.call({"type": "challenge", "opponent": "computer", "game": "chess"})
    await client.close()

    assert wagered["code"] == "invalid_message" and "no wagers" in wagered["message"]
    assert free_but_said["code"] == "invalid_message"
    assert targeted["code"] == "invalid_message"
    assert bad_level["code"] == "invalid_message"
    assert no_game["code"] == "not_found"
    assert await Match.find_all().count() == 0
    user = await User.find_one(User.wallet_address == wallet.address)
    assert user is not None and user.coins == 100
    assert await Transaction.find({"type": {"$ne": "admin_adjustment"}}).count() == 0


async def test_one_match_at_a_time_against_the_computer_too(server: RunningServer) -> None:
    client, _, _ = await enter(server.ws_url, Wallet(), room="dojo")
    computer = {"type": "challenge", "opponent": "computer", "game": "connect_four"}
    first = await client.call(computer)
    second = await client.call(computer)
    await client.close()

    assert first["type"] == "match_start"
    assert second["code"] == "conflict"
    assert await Match.find_all().count() == 1


async def test_a_player_who_leaves_loses_the_match_without_a_reward(
    settings: Settings, mongo_client: Mongo
) -> None:
    fast = economy_defaults(settings).with_overrides(match_disconnect_grace_seconds=0.2)
    async with serve(fast, mongo_client) as server:
        client, _, _ = await enter(server.ws_url, Wallet(), room="dojo")
        started = await client.call(
            {"type": "challenge", "opponent": "computer", "game": "tictactoe", "level": "easy"}
        )
        await client.close()

        async def ended() -> Match | None:
            match = await Match.get(ObjectId(started["matchId"]))
            return match if match is not None and match.status != MatchStatus.ACTIVE else None

        match = await eventually(ended, "the match ended")

    assert match.result == "disconnect" and match.winner_wallet == COMPUTER_WALLET
    assert match.rewards == [0, 0]
    assert await Transaction.find({"proof.matchId": started["matchId"]}).count() == 0
