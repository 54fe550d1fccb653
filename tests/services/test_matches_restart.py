"""A match survives a server restart (two real server runs on one database), and the
sweeper settles a match nobody came back to."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pymongo import AsyncMongoClient

from clubpengu.config import Settings
from clubpengu.models import Match, User
from clubpengu.models.base import utcnow
from clubpengu.progression.stamps import load_stamps
from tests.support import Client, RunningServer, Wallet, enter, run_server
from tests.waiting import eventually

Mongo = AsyncMongoClient[dict[str, Any]]


async def _match_between(
    server: RunningServer, a: Wallet, b: Wallet
) -> tuple[str, dict[int, Client], dict[int, Wallet]]:
    ca, _, _ = await enter(server.ws_url, a, room="plaza")
    cb, _, joined_b = await enter(server.ws_url, b, room="plaza")
    for wallet, client in ((a, ca), (b, cb)):
        await server.node.services.economy.apply(
            wallet.address, 100, "admin_adjustment", idempotency_key=f"grant:{wallet.address}",
            actor="admin:test", reason="test grant",
        )  # fmt: skip
        await client.recv_type("coins")
    sent = await ca.call(
        {"type": "challenge", "targetPlayerId": joined_b["playerId"], "game": "tictactoe",
         "wager": 40}
    )  # fmt: skip
    start_b = await cb.call({"type": "challenge_accept", "challengeId": sent["challengeId"]})
    seat_b = start_b["seat"]
    return (
        start_b["matchId"],
        {seat_b: cb, 1 - seat_b: ca},
        {seat_b: b, 1 - seat_b: a},
    )


async def _balance(wallet: Wallet) -> int:
    user = await User.find_one(User.wallet_address == wallet.address)
    assert user is not None
    return user.coins


async def test_a_match_is_resumed_and_finished_after_a_restart(
    settings: Settings, mongo_client: Mongo
) -> None:
    a, b = Wallet(), Wallet()
    async with run_server(settings, mongo_client) as first:
        match_id, clients, wallets = await _match_between(first, a, b)
        await clients[0].call({"type": "match_move", "matchId": match_id, "move": {"cell": 0}})
        await clients[1].call({"type": "match_move", "matchId": match_id, "move": {"cell": 3}})

    async with run_server(settings, mongo_client) as second:
        back = {}
        for seat in (0, 1):
            back[seat], _, _ = await enter(second.ws_url, wallets[seat], room="town")
        resumed = [await back[seat].recv_type("match_state") for seat in (0, 1)]
        for turn, cell in enumerate([1, 4, 2]):
            await back[turn % 2].call(
                {"type": "match_move", "matchId": match_id, "move": {"cell": cell}}
            )
        end = await back[0].recv_type("match_end")
        assert await second.node.tasks.wait(within=10.0)  # the match's stamps, awarded aside
        verified = await second.node.services.economy.verify_ledger()

    assert [r["seq"] for r in resumed] == [2, 2]
    assert resumed[0]["view"]["board"][:4] == [0, None, None, 1]
    assert end["result"] == "win"
    # The pot, and the first win's stamp: the match was played out after the restart.
    first_win = next(stamp.reward for stamp in load_stamps() if stamp.id == "first_win")
    assert await _balance(wallets[0]) == 140 + first_win and await _balance(wallets[1]) == 60
    assert verified.ok


async def test_the_sweeper_settles_an_abandoned_match(
    settings: Settings, mongo_client: Mongo
) -> None:
    a, b = Wallet(), Wallet()
    # The idle seat made no move, which by default refunds both stakes; here the payout.
    settings = settings.with_overrides(match_min_moves=0)
    async with run_server(settings, mongo_client) as first:
        match_id, clients, wallets = await _match_between(first, a, b)
        await clients[0].call({"type": "match_move", "matchId": match_id, "move": {"cell": 4}})
    past = utcnow() - timedelta(hours=1)
    await Match.get_pymongo_collection().update_one(
        {"_id": (await Match.get(match_id)).id},
        {"$set": {"turnDeadline": past}},  # type: ignore[union-attr]
    )

    sweeping = settings.with_overrides(match_sweep_interval_seconds=0.1)
    async with run_server(sweeping, mongo_client) as second:
        match = await eventually(
            lambda: Match.get(match_id),
            "the sweeper ends the match",
            ready=lambda m: m is not None and m.status != "active",
        )
        verified = await second.node.services.economy.verify_ledger()

    assert match is not None and match.status == "completed" and match.result == "abandoned"
    assert match.winner_wallet == wallets[0].address
    assert await _balance(wallets[0]) == 140 and await _balance(wallets[1]) == 60
    assert verified.ok
