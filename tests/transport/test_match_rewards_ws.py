"""What a player sees of the match rewards over a real WebSocket: `match_end` with the
reward of their seat, and the `coins` push of the `match_reward`."""

from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient

from clubpengu.config import Settings
from clubpengu.games import get_game
from tests.support import Wallet, economy_defaults, enter
from tests.support import run_server as serve

Mongo = AsyncMongoClient[dict[str, Any]]
WIN_FOR_SEAT_0 = (0, 3, 1, 4, 2)


async def test_match_end_tells_each_seat_its_reward_and_the_winner_gets_the_coins(
    settings: Settings, mongo_client: Mongo
) -> None:
    async with serve(economy_defaults(settings), mongo_client) as server:
        (a, _, _), (b, _, joined_b) = [
            await enter(server.ws_url, Wallet(), room="dojo") for _ in range(2)
        ]
        sent = await a.call(
            {"type": "challenge", "targetPlayerId": joined_b["playerId"], "game": "tictactoe"}
        )
        await b.recv_type("challenge")
        started = await b.call({"type": "challenge_accept", "challengeId": sent["challengeId"]})
        seats = {started["seat"]: b, 1 - started["seat"]: a}
        for turn, cell in enumerate(WIN_FOR_SEAT_0):
            await seats[turn % 2].call(
                {"type": "match_move", "matchId": started["matchId"], "move": {"cell": cell}}
            )
        won, lost = await seats[0].recv_type("match_end"), await seats[1].recv_type("match_end")
        coins = await seats[0].recv_type("coins")
        await a.close()
        await b.close()

    reward = get_game("tictactoe").reward_win
    assert (won["result"], won["reward"], won["rewardReason"]) == ("win", reward, None)
    assert (lost["result"], lost["reward"], lost["rewardReason"]) == ("loss", 0, "lost")
    assert won["opponent"] == "player" and "level" not in won
    assert (coins["reason"], coins["delta"], coins["coins"]) == ("match_reward", reward, reward)
