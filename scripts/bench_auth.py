#!/usr/bin/env python3
"""Sign-in benchmark: N concurrent WebSocket clients each do auth_request, auth_verify
(a real ed25519 signature) and join, against `clubpengu serve` on the embedded database;
then each opens a new connection and joins with its token.

    .venv/bin/python scripts/bench_auth.py --n 50
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import sys
import time
from pathlib import Path

import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import ProcessSampler, Wallet, serve, sign_in, summary_ms, write_json


async def _request(
    ws: websockets.ClientConnection, payload: dict[str, object]
) -> dict[str, object]:
    """Send with a rid and return the frame carrying it (pushes from others are skipped)."""
    await ws.send(json.dumps(payload | {"rid": 1}))
    while True:
        reply: dict[str, object] = json.loads(await ws.recv())
        if reply.get("rid") == 1:
            return reply


async def full_sign_in(url: str, wallet: Wallet) -> tuple[float, str]:
    started = time.perf_counter()
    async with websockets.connect(url, max_queue=None) as ws:
        signed = await sign_in(functools.partial(_request, ws), wallet)
        assert signed["type"] == "auth_success", signed
        joined = await _request(ws, {"type": "join", "room": "town"})
        assert joined["type"] == "joined", joined
        elapsed = time.perf_counter() - started
    return elapsed, str(signed["token"])


async def token_join(url: str, token: str) -> float:
    started = time.perf_counter()
    async with websockets.connect(url, max_queue=None) as ws:
        joined = await _request(ws, {"type": "join", "token": token, "room": "plaza"})
        assert joined["type"] == "joined", joined
        return time.perf_counter() - started


async def run(url: str, n: int, concurrency: int) -> dict[str, object]:
    gate = asyncio.Semaphore(concurrency)
    wallets = [Wallet() for _ in range(n)]

    async def limited(coro):  # type: ignore[no-untyped-def]
        async with gate:
            return await coro

    started = time.perf_counter()
    results = await asyncio.gather(*(limited(full_sign_in(url, w)) for w in wallets))
    sign_in_wall = time.perf_counter() - started
    started = time.perf_counter()
    joins = await asyncio.gather(*(limited(token_join(url, token)) for _, token in results))
    join_wall = time.perf_counter() - started
    return {
        "sign_in": summary_ms([r[0] for r in results]) | {"per_s": round(n / sign_in_wall, 1)},
        "token_join": summary_ms(joins) | {"per_s": round(n / join_wall, 1)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50, help="clients")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5, help="sign-ins before measuring")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with serve() as server:
        sampler = ProcessSampler(server.process.pid)
        database = ProcessSampler(server.database_pid())
        client = ProcessSampler(os.getpid())
        asyncio.run(run(server.ws_url, args.warmup, args.warmup))
        for s in (sampler, database, client):
            s.start()
        figures = asyncio.run(run(server.ws_url, args.n, args.concurrency))
        figures |= {
            "n": args.n,
            "server_cpu_percent": round(sampler.cpu_percent(), 1),
            "database_cpu_percent": round(database.cpu_percent(), 1),
            "load_generator_cpu_percent": round(client.cpu_percent(), 1),
        }
    for name in ("sign_in", "token_join"):
        f = figures[name]
        assert isinstance(f, dict)
        print(
            f"{name:10} {args.n} clients: {f['per_s']}/s  p50 {f['p50']} ms  p95 {f['p95']} ms"
            f"  p99 {f['p99']} ms  max {f['max']} ms"
        )
    print(
        f"CPU while measuring (% of one core): server {figures['server_cpu_percent']},"
        f" database {figures['database_cpu_percent']},"
        f" load generator {figures['load_generator_cpu_percent']}"
    )
    write_json(args.json, figures)


if __name__ == "__main__":
    main()
