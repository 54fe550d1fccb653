#!/usr/bin/env python3
"""Match benchmark: 2N signed-in clients play N concurrent wagered tic-tac-toe matches to
the end against `clubpengu serve` on the embedded database, then `clubpengu ledger
verify` runs on the same data.

Two phases on the same clients, each N concurrent matches played to the end:

- saturation: no think time. Every match always has a move in flight, so this measures
  the server and database at their throughput limit (queueing dominates the latency).
- paced (`--think S`, default 2 s; 0 skips it): before each move the mover "thinks" a
  uniform random 0.5 S .. 1.5 S, as people do; what a move costs a player under a load
  of N concurrent matches. Timed from send to reply, thinking excluded.

    .venv/bin/python scripts/bench_matches.py --n 100
    .venv/bin/python scripts/bench_matches.py --n 100 --think 0 --rounds 3   # saturation only
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import (
    JsonClient,
    ProcessSampler,
    Wallet,
    idle_percent,
    serve,
    sign_in_and_join,
    summary_ms,
    write_json,
)

WIN_FOR_SEAT_0 = [0, 3, 1, 4, 2]
WAGER = 10


@dataclass
class Phase:
    think: float
    moves: list[float] = field(default_factory=list)
    settles: list[float] = field(default_factory=list)
    matches: int = 0


async def sign_in(url: str, wallet: Wallet, room: str) -> tuple[JsonClient, str]:
    ws = await websockets.connect(url, max_queue=None)
    player = JsonClient(ws)
    joined = await sign_in_and_join(player.call, wallet, room)
    return player, str(joined["playerId"])


async def play(pair: tuple[JsonClient, JsonClient], target_id: str, phase: Phase) -> None:
    a, b = pair
    sent = await a.call(
        {"type": "challenge", "targetPlayerId": target_id, "game": "tictactoe", "wager": WAGER}
    )
    assert sent["type"] == "challenge_sent", sent
    await b.wait("challenge")
    start = await b.call({"type": "challenge_accept", "challengeId": sent["challengeId"]})
    assert start["type"] == "match_start", start
    await a.wait("match_start")
    seats = {start["seat"]: b, 1 - start["seat"]: a}
    for turn, cell in enumerate(WIN_FOR_SEAT_0):
        if phase.think:
            await asyncio.sleep(random.uniform(0.5, 1.5) * phase.think)
        began = time.perf_counter()
        reply = await seats[turn % 2].call(
            {"type": "match_move", "matchId": start["matchId"], "move": {"cell": cell}}
        )
        elapsed = time.perf_counter() - began
        assert reply["type"] == "match_state", reply
        last = turn == len(WIN_FOR_SEAT_0) - 1
        (phase.settles if last else phase.moves).append(elapsed)
    for player in (a, b):
        await player.wait("match_end")
    phase.matches += 1


async def grant_all(uri: str, addresses: list[str], coins: int) -> None:
    """Coins for every wallet through the ledger (the real EconomyService, so verify stays
    clean)."""
    from pymongo import AsyncMongoClient

    from clubpengu.services.economy import EconomyService

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, tz_aware=True)
    economy = EconomyService(client, "clubpengu")
    await asyncio.gather(*(
        economy.apply(a, coins, "admin_adjustment", idempotency_key=f"bench:{a}", reason="bench")
        for a in addresses
    ))  # fmt: skip
    await client.close()


async def run_phase(
    signed: list[tuple[JsonClient, str]], n: int, phase: Phase, rounds: int, samplers: list[Any]
) -> dict[str, Any]:
    """Each of the n pairs plays `rounds` matches back to back; all pairs at once."""

    async def pair(i: int) -> None:
        for _ in range(rounds):
            await play((signed[2 * i][0], signed[2 * i + 1][0]), signed[2 * i + 1][1], phase)

    for sampler in samplers:
        sampler.start()
    started = time.perf_counter()
    await asyncio.gather(*(pair(i) for i in range(n)))
    wall = time.perf_counter() - started
    return {
        "think_s": phase.think,
        "matches": phase.matches,
        "matches_per_s": round(phase.matches / wall, 1),
        "moves_per_s": round((len(phase.moves) + len(phase.settles)) / wall, 1),
        "match_move": summary_ms(phase.moves),
        "settling_move": summary_ms(phase.settles),
        "cpu_percent": {s.name: round(s.cpu_percent()) for s in samplers},
    }


async def run(url: str, uri: str, args: argparse.Namespace, pids: dict[str, int]) -> Any:
    n = args.n
    wallets = [Wallet() for _ in range(2 * n)]
    # Several rooms so a room's fan-out stays small, as it would with real crowds.
    rooms = ["town", "plaza", "dock", "beach", "coffee_shop", "ski_village"]
    signed = await asyncio.gather(
        *(sign_in(url, w, rooms[(i // 2) % len(rooms)]) for i, w in enumerate(wallets))
    )
    phases = [Phase(0.0)] + ([Phase(args.think)] if args.think > 0 else [])
    await grant_all(uri, [w.address for w in wallets], WAGER * args.rounds * len(phases))
    samplers = [NamedSampler(name, pid) for name, pid in pids.items()]
    figures = [await run_phase(signed, n, p, args.rounds, samplers) for p in phases]
    for player, _ in signed:
        await player.ws.close()
    return figures


class NamedSampler(ProcessSampler):
    def __init__(self, name: str, pid: int) -> None:
        super().__init__(pid)
        self.name = name


def report(args: argparse.Namespace, idle: float, phases: list[dict[str, Any]]) -> None:
    print(f"machine idle before the run: {idle} %")
    for phase in phases:
        m, s = phase["match_move"], phase["settling_move"]
        label = "saturation (no think time)" if not phase["think_s"] else (
            f"paced (think {0.5 * phase['think_s']:g}-{1.5 * phase['think_s']:g} s per move)"
        )  # fmt: skip
        print(
            f"{label}: {args.n} concurrent matches ({2 * args.n} clients), "
            f"{phase['matches']} played: {phase['matches_per_s']} matches/s, "
            f"{phase['moves_per_s']} moves/s, cpu % {phase['cpu_percent']}"
        )
        for name, f in (("match_move", m), ("settlement", s)):
            print(
                f"  {name:<11} p50 {f['p50']} ms  p95 {f['p95']} ms  "
                f"p99 {f['p99']} ms  max {f['max']} ms"
            )


def main() -> None:
    from clubpengu.db import EmbeddedDatabase

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100, help="concurrent matches (2n clients)")
    parser.add_argument(
        "--think", type=float, default=2.0,
        help="mean think time before each move in the paced phase, seconds (0: skip it)",
    )  # fmt: skip
    parser.add_argument("--rounds", type=int, default=1, help="matches per pair and phase")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    idle = idle_percent()
    if idle < 85:
        print(f"warning: the machine was only {idle} % idle before this run")
    clubpengu = str(Path(sys.executable).with_name("clubpengu"))
    with tempfile.TemporaryDirectory() as tmp:
        database = EmbeddedDatabase(Path(tmp) / "db")
        uri = database.start()
        try:
            env = {"MONGODB_URI": uri, "DAILY_BONUS_COINS": "0", "CHALLENGE_TTL": "5m"}
            with serve(env) as server:
                assert database.process is not None
                pids = {"server": server.process.pid, "database": database.process.pid}
                phases = asyncio.run(run(server.ws_url, uri, args, pids))
            verify = subprocess.run(
                [clubpengu, "ledger", "verify"], capture_output=True, text=True,
                env=os.environ | {"MONGODB_URI": uri},
            )  # fmt: skip
        finally:
            database.stop()
    verdict = "clean" if verify.returncode == 0 else verify.stdout[-500:]
    report(args, idle, phases)
    print(f"ledger verify: {verdict}")
    write_json(args.json, {"idle_before": idle, "phases": phases, "ledger_verify": verdict})


if __name__ == "__main__":
    main()
