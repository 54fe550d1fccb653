#!/usr/bin/env python3
"""Economy over the WebSocket: N concurrent signed-in clients buying and equipping
against `clubpengu serve` on the embedded database. Coins come from an admin through the
staff API (as in production); each client then alternates `purchase` (a consumable puffle
item) and `equip` (a hat on and off), one request at a time.

    .venv/bin/python scripts/bench_economy_ws.py --clients 50 --rounds 20
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import ProcessSampler, Wallet, serve, sign_in_and_join, summary_ms, write_json

FOOD, HAT = "puffle_o", "party_hat"


class Player:
    def __init__(self, ws: websockets.ClientConnection, wallet: Wallet) -> None:
        self.ws, self.wallet, self.rid = ws, wallet, 0

    async def call(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.rid += 1
        await self.ws.send(json.dumps(payload | {"rid": self.rid}))
        while True:
            reply: dict[str, Any] = json.loads(await self.ws.recv())
            if reply.get("rid") == self.rid:
                return reply


def http_post(url: str, body: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, json.dumps(body).encode(), headers, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        data: dict[str, Any] = json.loads(response.read())
        return data


def admin_token(base: str, admin: Wallet) -> str:
    challenge = http_post(base + "/auth/challenge", {})
    signed = http_post(base + "/auth/verify", {
        "challengeId": challenge["challengeId"], "walletAddress": admin.address,
        "signature": admin.sign(challenge["nonce"]),
    })  # fmt: skip
    return str(signed["token"])


async def join(url: str, wallet: Wallet) -> Player:
    ws = await websockets.connect(url, max_queue=None)
    player = Player(ws, wallet)
    await sign_in_and_join(player.call, wallet, "town")
    return player


async def play(player: Player, rounds: int, buys: list[float], equips: list[float]) -> int:
    errors = 0
    bought = await player.call({"type": "purchase", "itemId": HAT, "idempotencyKey": "hat"})
    errors += bought["type"] != "purchase_result"
    for n in range(rounds):
        started = time.perf_counter()
        reply = await player.call({"type": "purchase", "itemId": FOOD, "idempotencyKey": f"f{n}"})
        buys.append(time.perf_counter() - started)
        errors += reply["type"] != "purchase_result"
        started = time.perf_counter()
        reply = await player.call(
            {"type": "equip", "slot": "head", "itemId": HAT if n % 2 == 0 else None}
        )
        equips.append(time.perf_counter() - started)
        errors += reply["type"] != "customization"
    return errors


async def run(base: str, ws_url: str, clients: int, rounds: int, admin: Wallet) -> dict[str, Any]:
    players = await asyncio.gather(*(join(ws_url, Wallet()) for _ in range(clients)))
    token = await asyncio.to_thread(admin_token, base, admin)
    for p in players:
        grant = {
            "walletAddress": p.wallet.address,
            "amount": 100_000,
            "reason": "benchmark float",
            "idempotencyKey": f"bench-{p.wallet.address}",
        }
        await asyncio.to_thread(http_post, base + "/admin/coins", grant, token)
    buys: list[float] = []
    equips: list[float] = []
    started = time.perf_counter()
    errors = sum(await asyncio.gather(*(play(p, rounds, buys, equips) for p in players)))
    seconds = time.perf_counter() - started
    for p in players:
        await p.ws.close()
    return {
        "clients": clients, "rounds": rounds, "errors": errors, "seconds": round(seconds, 2),
        "purchases_per_s": round(len(buys) / seconds, 1), "purchase": summary_ms(buys),
        "equip": summary_ms(equips),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=20, help="purchases (and equips) each")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    admin = Wallet()
    with serve({"ADMIN_WALLETS": admin.address, "DAILY_BONUS_COINS": "0"}) as server:
        sampler, client = ProcessSampler(server.process.pid), ProcessSampler(os.getpid())
        database = ProcessSampler(server.database_pid())
        for s in (sampler, client, database):
            s.start()
        figures = asyncio.run(run(server.url, server.ws_url, args.clients, args.rounds, admin))
        figures |= {
            "server_cpu_percent": round(sampler.cpu_percent(), 1),
            "database_cpu_percent": round(database.cpu_percent(), 1),
            "load_generator_cpu_percent": round(client.cpu_percent(), 1),
        }
    p, e = figures["purchase"], figures["equip"]
    print(f"{args.clients} clients x {args.rounds} rounds, {figures['errors']} errors")
    print(f"purchase: {figures['purchases_per_s']}/s  p50 {p['p50']} ms  p99 {p['p99']} ms")
    print(f"equip:    p50 {e['p50']} ms  p99 {e['p99']} ms")
    print(
        f"CPU (% of one core): server {figures['server_cpu_percent']}, database "
        f"{figures['database_cpu_percent']}, load generator {figures['load_generator_cpu_percent']}"
    )
    write_json(args.json, figures)


if __name__ == "__main__":
    main()
