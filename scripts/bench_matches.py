#!/usr/bin/env python3
"""Match benchmark: 2N signed-in clients play N concurrent wagered tic-tac-toe matches to
the end against `clubpengu serve` on the embedded database, then `clubpengu ledger
verify` runs on the same data.

    .venv/bin/python scripts/bench_matches.py --n 100
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import Wallet, serve, summary_ms, write_json

WIN_FOR_SEAT_0 = [0, 3, 1, 4, 2]


class Player:
    def __init__(self, ws: websockets.ClientConnection) -> None:
        self.ws = ws
        self.rid = 0
        self.held: list[dict[str, Any]] = []

    async def call(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.rid += 1
        await self.ws.send(json.dumps(payload | {"rid": self.rid}))
        while True:
            reply: dict[str, Any] = json.loads(await self.ws.recv())
            if reply.get("rid") == self.rid:
                return reply
            self.held.append(reply)

    async def wait(self, kind: str) -> dict[str, Any]:
        for i, frame in enumerate(self.held):
            if frame.get("type") == kind:
                return self.held.pop(i)
        while True:
            frame = json.loads(await self.ws.recv())
            if frame.get("type") == kind:
                return frame
            self.held.append(frame)


async def sign_in(url: str, wallet: Wallet, room: str) -> tuple[Player, str]:
    ws = await websockets.connect(url, max_queue=None)
    player = Player(ws)
    challenge = await player.call({"type": "auth_request"})
    signed = await player.call({
        "type": "auth_verify", "walletAddress": wallet.address,
        "signature": wallet.sign(str(challenge["nonce"])),
    })  # fmt: skip
    assert signed["type"] == "auth_success", signed
    joined = await player.call({"type": "join", "room": room})
    assert joined["type"] == "joined", joined
    return player, str(joined["playerId"])


async def play(
    pair: tuple[Player, Player], target_id: str, moves: list[float], settles: list[float]
) -> None:
    a, b = pair
    sent = await a.call(
        {"type": "challenge", "targetPlayerId": target_id, "game": "tictactoe", "wager": 10}
    )
    assert sent["type"] == "challenge_sent", sent
    await b.wait("challenge")
    start = await b.call({"type": "challenge_accept", "challengeId": sent["challengeId"]})
    assert start["type"] == "match_start", start
    seats = {start["seat"]: b, 1 - start["seat"]: a}
    for turn, cell in enumerate(WIN_FOR_SEAT_0):
        began = time.perf_counter()
        reply = await seats[turn % 2].call(
            {"type": "match_move", "matchId": start["matchId"], "move": {"cell": cell}}
        )
        elapsed = time.perf_counter() - began
        assert reply["type"] == "match_state", reply
        (settles if turn == len(WIN_FOR_SEAT_0) - 1 else moves).append(elapsed)
    await seats[1].wait("match_end")


async def grant_all(uri: str, addresses: list[str]) -> None:
    """100 coins each through the ledger (the real EconomyService, so verify stays clean)."""
    from pymongo import AsyncMongoClient

    from clubpengu.services.economy import EconomyService

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, tz_aware=True)
    economy = EconomyService(client, "clubpengu")
    await asyncio.gather(*(
        economy.apply(a, 100, "admin_adjustment", idempotency_key=f"bench:{a}", reason="bench")
        for a in addresses
    ))  # fmt: skip
    await client.close()


async def run(url: str, uri: str, n: int) -> dict[str, Any]:
    wallets = [Wallet() for _ in range(2 * n)]
    # Several rooms so a room's fan-out stays small, as it would with real crowds.
    rooms = ["town", "plaza", "dock", "beach", "coffee_shop", "ski_village"]
    signed = await asyncio.gather(
        *(sign_in(url, w, rooms[(i // 2) % len(rooms)]) for i, w in enumerate(wallets))
    )
    await grant_all(uri, [w.address for w in wallets])
    moves: list[float] = []
    settles: list[float] = []
    started = time.perf_counter()
    await asyncio.gather(*(
        play((signed[2 * i][0], signed[2 * i + 1][0]), signed[2 * i + 1][1], moves, settles)
        for i in range(n)
    ))  # fmt: skip
    wall = time.perf_counter() - started
    for player, _ in signed:
        await player.ws.close()
    return {
        "matches": n,
        "matches_per_s": round(n / wall, 1),
        "match_move": summary_ms(moves),
        "settling_move": summary_ms(settles),
    }


def main() -> None:
    from clubpengu.db import EmbeddedDatabase

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100, help="concurrent matches")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    clubpengu = str(Path(sys.executable).with_name("clubpengu"))
    with tempfile.TemporaryDirectory() as tmp:
        database = EmbeddedDatabase(Path(tmp) / "db")
        uri = database.start()
        try:
            env = {"MONGODB_URI": uri, "DAILY_BONUS_COINS": "0", "CHALLENGE_TTL": "5m"}
            with serve(env) as server:
                figures = asyncio.run(run(server.ws_url, uri, args.n))
            verify = subprocess.run(
                [clubpengu, "ledger", "verify"], capture_output=True, text=True,
                env=os.environ | {"MONGODB_URI": uri},
            )  # fmt: skip
        finally:
            database.stop()
    figures["ledger_verify"] = "clean" if verify.returncode == 0 else verify.stdout[-500:]
    m, s = figures["match_move"], figures["settling_move"]
    print(
        f"{args.n} concurrent matches ({2 * args.n} clients): {figures['matches_per_s']} matches/s"
    )
    print(f"match_move  p50 {m['p50']} ms  p95 {m['p95']} ms  p99 {m['p99']} ms  max {m['max']} ms")
    print(f"settlement  p50 {s['p50']} ms  p95 {s['p95']} ms  p99 {s['p99']} ms  max {s['max']} ms")
    print(f"ledger verify: {figures['ledger_verify']}")
    write_json(args.json, figures)


if __name__ == "__main__":
    main()
