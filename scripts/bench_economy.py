#!/usr/bin/env python3
"""Economy throughput on a fresh embedded SecantusDB, without the WebSocket layer:
ShopService.purchase and equip from concurrent clients, then ledger verification.

Phases (each client is one wallet, doing one request at a time, like a player):
  purchase   --n purchases of puffle items spread over --concurrency clients
  equip      --n colour changes over the same clients
  hot wallet --hot purchases from --concurrency tasks on ONE wallet (write conflicts)
  verify     verify_ledger over at least --verify-entries ledger entries

    .venv/bin/python scripts/bench_economy.py --n 5000 --concurrency 50
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from clubpengu.db import EmbeddedDatabase, init_models  # noqa: E402
from clubpengu.errors import DomainError  # noqa: E402
from clubpengu.services.catalog import ItemType, load_catalog  # noqa: E402
from clubpengu.services.economy import EconomyService  # noqa: E402
from clubpengu.services.shop import ShopService  # noqa: E402
from clubpengu.services.transaction_runner import RetryPolicy  # noqa: E402

DB = "bench"


@dataclass(frozen=True)
class CountingPolicy(RetryPolicy):
    """The default retry policy, counting how often it backs off."""

    def backoff(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        RETRIES[0] += 1
        return super().backoff(attempt, rng)


RETRIES = [0]


def summary(name: str, latencies: list[float], seconds: float, errors: int) -> dict[str, Any]:
    ms = sorted(x * 1000 for x in latencies)
    q = statistics.quantiles(ms, n=100, method="inclusive") if len(ms) > 1 else ms * 99
    return {
        "phase": name, "count": len(ms), "errors": errors, "seconds": round(seconds, 3),
        "per_second": round(len(ms) / seconds, 1), "p50_ms": round(q[49], 2),
        "p95_ms": round(q[94], 2), "p99_ms": round(q[98], 2), "max_ms": round(ms[-1], 2),
    }  # fmt: skip


async def timed(
    name: str,
    jobs: list[list[Callable[[], Awaitable[Any]]]],
    expected: tuple[type[Exception], ...] = (),
) -> dict[str, Any]:
    """Run each client's jobs in order, clients concurrently; time every call."""
    latencies: list[float] = []
    errors = [0]

    async def client(calls: list[Callable[[], Awaitable[Any]]]) -> None:
        for call in calls:
            started = time.perf_counter()
            try:
                await call()
            except expected:
                errors[0] += 1
            latencies.append(time.perf_counter() - started)

    RETRIES[0] = 0
    started = time.perf_counter()
    await asyncio.gather(*(client(calls) for calls in jobs))
    figures = summary(name, latencies, time.perf_counter() - started, errors[0])
    figures["transaction_retries"] = RETRIES[0]
    return figures


async def seed_ledger(client: AsyncMongoClient[dict[str, Any]], entries: int) -> None:
    """Consistent synthetic history: users with 10 one-coin grants each."""
    users, txs = [], []
    for n in range(entries // 10):
        wallet = f"Seed{n:08d}"
        users.append({"walletAddress": wallet, "username": wallet, "coins": 10})
        txs += [
            {"walletAddress": wallet, "amount": 1, "balanceAfter": i + 1, "type": "grant",
             "idempotencyKey": f"seed:{wallet}:{i}", "actor": "system", "proof": {}}
            for i in range(10)
        ]  # fmt: skip
    if users:
        await client[DB]["users"].insert_many(users)
        for start in range(0, len(txs), 10_000):
            await client[DB]["transactions"].insert_many(txs[start : start + 10_000])


async def run(args: argparse.Namespace, uri: str) -> dict[str, Any]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        uri, tz_aware=True, maxPoolSize=max(100, args.concurrency * 2)
    )
    await init_models(client, DB)
    catalog = load_catalog()
    economy = EconomyService(client, DB, retry=CountingPolicy())
    shop = ShopService(client, DB, economy, catalog)
    goods = [i.id for i in catalog.for_sale() if i.type == ItemType.PUFFLE_ITEM]
    wallets = [f"Bench{n:04d}" for n in range(args.concurrency)]
    for wallet in [*wallets, "Hot"]:
        await client[DB]["users"].insert_one({"walletAddress": wallet, "username": wallet})
        await economy.apply(wallet, 10**8, "grant", idempotency_key=f"grant:{wallet}")
        await shop.purchase(wallet, "red", "red")
    keys = itertools.count()

    def buy(wallet: str) -> Callable[[], Awaitable[Any]]:
        return lambda: shop.purchase(wallet, random.choice(goods), f"k{next(keys)}")

    def wear(wallet: str, colour: str) -> Callable[[], Awaitable[Any]]:
        return lambda: shop.equip(wallet, "color", colour)

    await timed("warmup", [[buy(w) for _ in range(args.warmup // len(wallets))] for w in wallets])
    per_client = -(-args.n // args.concurrency)
    colours = ("red", "blue")
    results = [
        await timed("purchase", [[buy(w) for _ in range(per_client)] for w in wallets]),
        await timed(
            "equip", [[wear(w, colours[i % 2]) for i in range(per_client)] for w in wallets]
        ),
        await timed("hot wallet", [[buy("Hot")] for _ in range(args.hot)], (DomainError,)),
    ]
    existing = await client[DB]["transactions"].count_documents({})
    await seed_ledger(client, max(0, args.verify_entries - existing))
    started = time.perf_counter()
    report = await economy.verify_ledger()
    seconds = time.perf_counter() - started
    await client.close()
    return {
        "phases": results,
        "verify": {
            "ok": report.ok, "users": report.users, "transactions": report.transactions,
            "seconds": round(seconds, 3),
            "seconds_per_10k_transactions": round(seconds * 10_000 / report.transactions, 3),
        },
    }  # fmt: skip


def git_revision() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True)
    return done.stdout.decode().strip() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--n", type=int, default=5000, help="purchases (and equips) to time")
    parser.add_argument("--concurrency", type=int, default=50, help="concurrent clients")
    parser.add_argument("--warmup", type=int, default=200, help="untimed purchases first")
    parser.add_argument("--hot", type=int, default=50, help="concurrent buys on one wallet")
    parser.add_argument("--verify-entries", type=int, default=100_000,
                        help="seed consistent history up to this many ledger entries")  # fmt: skip
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, EmbeddedDatabase(Path(tmp)) as database:
        figures = asyncio.run(run(args, database.uri))
    figures.update(arguments=vars(args) | {"json": str(args.json)}, revision=git_revision())
    for phase in figures["phases"]:
        print(
            f"{phase['phase']:<10} {phase['count']:>6} calls, {phase['per_second']:>7}/s, "
            f"p50 {phase['p50_ms']} ms, p95 {phase['p95_ms']} ms, p99 {phase['p99_ms']} ms, "
            f"max {phase['max_ms']} ms, {phase['errors']} refused, "
            f"{phase['transaction_retries']} transaction retries"
        )
    verify = figures["verify"]
    print(
        f"verify     {verify['transactions']} entries of {verify['users']} users in "
        f"{verify['seconds']} s = {verify['seconds_per_10k_transactions']} s per 10,000 "
        f"transactions ({'OK' if verify['ok'] else 'MISMATCH'})"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
