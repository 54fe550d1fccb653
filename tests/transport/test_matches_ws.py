"""Challenges and wagered matches over real WebSockets, real ledger, real transactions."""

from __future__ import annotations

import asyncio
from typing import Any

from pymongo import AsyncMongoClient

from clubpengu.config import Settings
from clubpengu.games import get_game, replay
from clubpengu.models import Challenge, Match, Transaction, User
from tests.support import Client, RunningServer, Wallet, enter, grant, run_server

# Seat 0 takes 0, 1, 2 (a row); seat 1 takes 3, 4.
WIN_FOR_SEAT_0 = [0, 3, 1, 4, 2]


async def _grant(server: RunningServer, client: Client, wallet: Wallet, coins: int) -> None:
    await grant(server, wallet, coins)
    await client.recv_type("coins")


async def _pair(
    server: RunningServer, coins: int = 100
) -> tuple[Client, Client, Wallet, Wallet, dict[str, Any]]:
    a, b = Wallet(), Wallet()
    ca, _, _ = await enter(server.ws_url, a, room="plaza")
    cb, _, joined_b = await enter(server.ws_url, b, room="plaza")
    await _grant(server, ca, a, coins)
    await _grant(server, cb, b, coins)
    return ca, cb, a, b, joined_b


async def _start(
    server: RunningServer, wager: int = 30, game: str = "tictactoe"
) -> tuple[dict[Any, Client], dict[Any, Wallet], dict[str, Any]]:
    """Challenge, accept; returns clients and wallets by seat, and match_start of seat 0."""
    ca, cb, a, b, joined_b = await _pair(server)
    sent = await ca.call(
        {"type": "challenge", "targetPlayerId": joined_b["playerId"], "game": game, "wager": wager}
    )
    pushed = await cb.recv_type("challenge")
    assert pushed["challengeId"] == sent["challengeId"]
    started_b = await cb.call({"type": "challenge_accept", "challengeId": sent["challengeId"]})
    started_a = await ca.recv_type("match_start")
    assert started_b["type"] == "match_start", started_b
    by_seat = {started_a["seat"]: ca, started_b["seat"]: cb}
    wallets = {started_a["seat"]: a, started_b["seat"]: b}
    return by_seat, wallets, started_a if started_a["seat"] == 0 else started_b


async def _play(clients: dict[Any, Client], match_id: str, cells: list[int]) -> dict[str, Any]:
    reply: dict[str, Any] = {}
    for turn, cell in enumerate(cells):
        reply = await clients[turn % 2].call(
            {"type": "match_move", "matchId": match_id, "move": {"cell": cell}}
        )
    return reply


async def _balance(wallet: Wallet) -> int:
    user = await User.find_one(User.wallet_address == wallet.address)
    assert user is not None
    return user.coins


async def test_a_wagered_match_from_challenge_to_payout(server: RunningServer) -> None:
    clients, wallets, start = await _start(server, wager=30)
    match_id = start["matchId"]

    await _play(clients, match_id, WIN_FOR_SEAT_0)
    ends = [await clients[seat].recv_type("match_end") for seat in (0, 1)]
    payout = await clients[0].recv_type("coins")
    # The winner's first win earns a stamp worth 10 coins (services/stamps.py).
    while (await clients[0].recv_type("stamp_earned"))["stamp"]["id"] != "first_win":
        pass
    stamp_reward = await clients[0].recv_type("coins")
    history = await clients[1].call({"type": "match_history", "limit": 5})

    assert [e["result"] for e in ends] == ["win", "loss"]
    assert ends[0]["winner"] == wallets[0].address and ends[0]["reason"] == "three_in_a_row"
    assert payout == {"type": "coins", "coins": 130, "delta": 60, "reason": "match_payout"}
    assert stamp_reward == {"type": "coins", "coins": 140, "delta": 10, "reason": "stamp_reward"}
    assert await _balance(wallets[0]) == 140 and await _balance(wallets[1]) == 70
    types = [
        t.type for t in await Transaction.find(Transaction.type != "admin_adjustment").to_list()
    ]
    assert sorted(types) == ["match_escrow", "match_escrow", "match_payout", "stamp_reward"]
    assert (await server.node.services.economy.verify_ledger()).ok
    match = await Match.get(match_id)
    assert match is not None and match.status == "completed" and match.seq == 5
    assert [entry.seq for entry in match.log] == [1, 2, 3, 4, 5]
    assert [entry.move["cell"] for entry in match.log] == WIN_FOR_SEAT_0
    assert replay(get_game("tictactoe"), match.seed, match.moves()) == match.state
    winner = await User.find_one(User.wallet_address == wallets[0].address)
    assert winner is not None and winner.stats.model_extra["games"]["tictactoe"] == {"wins": 1}
    loser = await User.find_one(User.wallet_address == wallets[1].address)
    assert loser is not None and loser.stats.model_extra["games"]["tictactoe"] == {"losses": 1}
    assert history["matches"][0]["result"] == "loss" and "seed" not in start


async def test_moves_out_of_turn_illegal_or_by_outsiders_are_refused(server: RunningServer) -> None:
    clients, _, start = await _start(server)
    match_id = start["matchId"]

    early = await clients[1].call({"type": "match_move", "matchId": match_id, "move": {"cell": 0}})
    bad = await clients[0].call({"type": "match_move", "matchId": match_id, "move": {"cell": 9}})
    outsider, _, _ = await enter(server.ws_url, Wallet())
    stranger = await outsider.call({"type": "match_move", "matchId": match_id, "move": {"cell": 0}})
    await outsider.close()

    assert early["code"] == "forbidden"
    assert bad["code"] == "invalid_message"
    assert stranger["code"] == "forbidden"


async def test_a_challenge_to_someone_who_cannot_afford_it_is_refused(
    server: RunningServer,
) -> None:
    ca, _cb, _a, _b, joined_b = await _pair(server, coins=10)

    reply = await ca.call(
        {"type": "challenge", "targetPlayerId": joined_b["playerId"], "game": "tictactoe",
         "wager": 50}
    )  # fmt: skip
    too_big = await ca.call(
        {"type": "challenge", "targetPlayerId": joined_b["playerId"], "game": "tictactoe",
         "wager": 10**7}
    )  # fmt: skip
    no_game = await ca.call(
        {"type": "challenge", "targetPlayerId": joined_b["playerId"], "game": "chess"}
    )

    assert reply["code"] == "insufficient_funds"
    assert too_big["code"] == "invalid_message"
    assert no_game["code"] == "not_found"
    assert await Challenge.count() == 0


async def test_decline_and_one_pending_per_pair(server: RunningServer) -> None:
    ca, cb, _a, _b, joined_b = await _pair(server)
    ask = {"type": "challenge", "targetPlayerId": joined_b["playerId"], "game": "tictactoe"}

    sent = await ca.call(ask)
    again = await ca.call(ask)
    declined = await cb.call({"type": "challenge_decline", "challengeId": sent["challengeId"]})
    told = await ca.recv_type("challenge_ended")
    late = await cb.call({"type": "challenge_accept", "challengeId": sent["challengeId"]})

    assert again["code"] == "conflict"
    assert declined == told == {
        "type": "challenge_ended", "challengeId": sent["challengeId"], "reason": "declined",
    }  # fmt: skip
    assert late["code"] == "conflict"


async def test_a_challenge_expires(
    settings: Settings, mongo_client: AsyncMongoClient[dict[str, Any]]
) -> None:
    async with run_server(
        settings.with_overrides(challenge_ttl_seconds=0.3), mongo_client
    ) as server:
        ca, cb, _a, _b, joined_b = await _pair(server)
        sent = await ca.call(
            {"type": "challenge", "targetPlayerId": joined_b["playerId"], "game": "tictactoe"}
        )
        ended = await cb.recv_type("challenge_ended")
        late = await cb.call({"type": "challenge_accept", "challengeId": sent["challengeId"]})

    assert ended["reason"] == "expired"
    assert late["code"] == "conflict"
    assert await Match.count() == 0


async def test_the_challenger_leaving_cancels_the_challenge(server: RunningServer) -> None:
    ca, cb, _a, _b, joined_b = await _pair(server)
    sent = await ca.call(
        {"type": "challenge", "targetPlayerId": joined_b["playerId"], "game": "tictactoe"}
    )

    await ca.call({"type": "change_room", "room": "town"})
    ended = await cb.recv_type("challenge_ended")

    assert ended == {
        "type": "challenge_ended", "challengeId": sent["challengeId"], "reason": "challenger_left",
    }  # fmt: skip
    stored = await Challenge.find_one({})
    assert stored is not None and stored.status == "cancelled"


async def test_the_idle_player_forfeits_on_the_turn_timer(
    settings: Settings, mongo_client: AsyncMongoClient[dict[str, Any]]
) -> None:
    # One move each is not a game: by default that refunds both stakes (tested with the wager
    # gates, tests/transport/test_wager_gates_ws.py); here it pays, to test the timer alone.
    timed = settings.with_overrides(match_turn_seconds=0.5, match_min_moves=0)
    async with run_server(timed, mongo_client) as server:
        clients, wallets, start = await _start(server, wager=20)
        await _play(clients, start["matchId"], [4])
        end = await clients[0].recv_type("match_end", timeout=5)

    assert end["result"] == "win" and end["reason"] == "timeout"
    assert await _balance(wallets[0]) == 120 and await _balance(wallets[1]) == 80


async def test_a_disconnect_forfeits_after_the_grace(
    settings: Settings, mongo_client: AsyncMongoClient[dict[str, Any]]
) -> None:
    fast = settings.with_overrides(match_disconnect_grace_seconds=0.2, match_min_moves=0)
    async with run_server(fast, mongo_client) as server:
        clients, wallets, _ = await _start(server, wager=20)
        await clients[1].close()
        end = await clients[0].recv_type("match_end", timeout=5)
        verified = await server.node.services.economy.verify_ledger()

    assert end["result"] == "win" and end["reason"] == "disconnect"
    assert await _balance(wallets[0]) == 120 and verified.ok


async def test_two_concurrent_moves_on_one_match_apply_once(server: RunningServer) -> None:
    _clients, wallets, start = await _start(server)
    matches = server.node.services.matches
    mover = wallets[0].address

    results = await asyncio.gather(
        matches.move(mover, start["matchId"], {"cell": 0}),
        matches.move(mover, start["matchId"], {"cell": 1}),
        return_exceptions=True,
    )

    assert sorted(type(r).__name__ for r in results) == ["Match", "NotYourTurn"]
    match = await Match.get(start["matchId"])
    assert match is not None and match.seq == 1 and match.version == 1
    assert len(match.log) == 1 and match.log[0].seat == 0


async def test_settling_twice_pays_once(server: RunningServer) -> None:
    _clients, wallets, start = await _start(server, wager=25)
    matches = server.node.services.matches

    results = await asyncio.gather(
        matches.settle(start["matchId"], 0, "test"), matches.settle(start["matchId"], 0, "test")
    )

    assert sum(r is not None for r in results) == 1
    assert await _balance(wallets[0]) == 125
    assert await Transaction.find(Transaction.type == "match_payout").count() == 1
    assert (await server.node.services.economy.verify_ledger()).ok


async def test_a_player_already_in_a_match_cannot_be_challenged(server: RunningServer) -> None:
    clients, _, _ = await _start(server, wager=0)
    third, _, joined = await enter(server.ws_url, Wallet(), room="plaza")
    busy = await clients[1].call(
        {"type": "challenge", "targetPlayerId": joined["playerId"], "game": "tictactoe"}
    )
    for client in (third, *clients.values()):
        await client.close()

    assert busy["code"] == "conflict" and "already playing" in busy["message"]
    assert await Challenge.count() == 1  # only the accepted one


async def test_accepting_a_second_challenge_while_in_a_match_is_a_conflict(
    server: RunningServer,
) -> None:
    target, first, second = Wallet(), Wallet(), Wallet()
    ct, _, joined_t = await enter(server.ws_url, target, room="plaza")
    c1, _, _ = await enter(server.ws_url, first, room="plaza")
    c2, _, _ = await enter(server.ws_url, second, room="plaza")
    challenge = {"type": "challenge", "targetPlayerId": joined_t["playerId"], "game": "tictactoe"}
    sent = [await c.call(challenge | {"wager": 0}) for c in (c1, c2)]

    for number, offer in enumerate(sent):
        await ct.send(
            {"type": "challenge_accept", "challengeId": offer["challengeId"], "rid": f"a{number}"}
        )
    replies = []
    while len(replies) < 2:
        frame = await ct.recv()
        if frame.get("rid") in ("a0", "a1"):
            replies.append(frame)
    active = await Match.find({"wallets": target.address, "status": "active"}).to_list()
    for client in (ct, c1, c2):
        await client.close()

    assert sorted(r["type"] for r in replies) == ["error", "match_start"]
    assert next(r for r in replies if r["type"] == "error")["code"] == "conflict"
    assert len(active) == 1
