#!/usr/bin/env python3
"""Measure the StatsBatcher against an embedded SecantusDB in a temporary directory.

1. queue() cost: `--n` increments spread at random over `--wallets` x `--paths` counters,
   timed in batches of `--batch` calls (ns per call: median, p95, p99, max over batches).
2. flush(): the merged batch (one `$inc` per player) written as unordered bulk writes of
   `--chunk-size` players; seconds, update ops/s, increments/s, the longest the event loop
   was kept from a 1 ms timer meanwhile, then a check that the database holds exactly `--n`.
3. Batched vs one update at a time: `--compare-players` x `--compare-increments`
   increments written through queue()+flush() and through one `update_one` per increment
   (`--concurrency` writers); both times, round trips and ratios. `--compare-players 0` skips.

    .venv/bin/python scripts/bench_stats.py
    .venv/bin/python scripts/bench_stats.py --n 100000 --wallets 1000 --json /tmp/stats.json

Part 3's 100,000 single updates dominate the run time (minutes). SecantusDB 0.7.0b3 scans
its table of retryable-write records on every retryable write (up to 10,000 records kept
for 30 min), so each single update gets slower as they accumulate (about 2 ms at first,
tens of ms later); `--no-retry-writes` measures the batching alone, without that effect.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient, monitoring

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from clubpengu.db import EmbeddedDatabase, init_models  # noqa: E402
from clubpengu.services.stats import StatsBatcher  # noqa: E402

DB = "bench_stats"
PATHS = ["movement.steps", "chat.messagesSent", "emotes.sent", "rooms.visited", "online.seconds"]


class RoundTrips(monitoring.CommandListener):
    """Counts the `update` commands sent (a driver retry would count too)."""

    def __init__(self) -> None:
        self.updates = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name == "update":
            self.updates += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


def git_revision() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        return "unknown"


def percentiles(values: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(values, n=100) if len(values) > 1 else values * 99
    return {
        "median": statistics.median(values),
        "p95": cuts[94],
        "p99": cuts[98],
        "max": max(values),
    }


async def insert_users(client: AsyncMongoClient[dict[str, Any]], wallets: list[str]) -> None:
    users = client[DB]["users"]
    await users.delete_many({})
    documents = [
        {
            "walletAddress": wallet,
            "username": f"Penguin{number}",
            "coins": 0,
            "stats": {"economy": {"totalCoinsEarned": 0, "totalCoinsSpent": 0}},
        }
        for number, wallet in enumerate(wallets)
    ]
    for start in range(0, len(documents), 5000):
        await users.insert_many(documents[start : start + 5000])


async def stored_total(client: AsyncMongoClient[dict[str, Any]]) -> float:
    fields = [{"$ifNull": [f"$stats.{path}", 0]} for path in PATHS]
    cursor = await client[DB]["users"].aggregate(
        [{"$group": {"_id": None, "total": {"$sum": {"$add": fields}}}}]
    )
    rows = [row async for row in cursor]
    return float(rows[0]["total"]) if rows else 0.0


def time_queue(batcher: StatsBatcher, pairs: list[tuple[str, str]], batch: int) -> list[float]:
    """ns per queue() call, one figure per batch of `batch` calls."""
    queue = batcher.queue
    per_call = []
    for start in range(0, len(pairs), batch):
        chunk = pairs[start : start + batch]
        started = time.perf_counter_ns()
        for wallet, path in chunk:
            queue(wallet, path)
        per_call.append((time.perf_counter_ns() - started) / len(chunk))
    return per_call


async def loop_lag_ms(tick: float = 0.001) -> float:
    """Run until cancelled; return the longest the event loop kept a 1 ms timer waiting."""
    worst = 0.0
    try:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(tick)
            worst = max(worst, time.perf_counter() - started - tick)
    except asyncio.CancelledError:
        return worst * 1000


async def bench_queue_and_flush(
    client: AsyncMongoClient[dict[str, Any]], args: argparse.Namespace
) -> dict[str, Any]:
    rng = random.Random(args.seed)
    wallets = [f"BenchWallet{number:06d}" for number in range(args.wallets)]
    paths = PATHS[: args.paths]
    await insert_users(client, wallets)
    pairs = [(rng.choice(wallets), rng.choice(paths)) for _ in range(args.n)]

    warm = StatsBatcher.for_database(client, DB)
    time_queue(warm, pairs[: args.warmup], args.batch)  # warm-up: not flushed, not counted
    batcher = StatsBatcher.for_database(client, DB, chunk_size=args.chunk_size)
    per_call = time_queue(batcher, pairs, args.batch)
    counters = batcher.pending_count

    lag = asyncio.create_task(loop_lag_ms())
    report = await batcher.flush()
    lag.cancel()
    max_stall_ms = await lag
    total = await stored_total(client)
    if not report.ok or total != args.n:
        raise SystemExit(f"flush incomplete: {report} stored total {total} != {args.n}")
    return {
        "increments": args.n,
        "players": report.players,
        "counters": counters,
        "queue_ns_per_call": {k: round(v, 1) for k, v in percentiles(per_call).items()},
        "flush_s": round(report.seconds, 4),
        "flush_ops": report.ops,
        "flush_bulk_writes": report.bulk_writes,
        "flush_ops_per_s": round(report.ops / report.seconds),
        "flush_increments_per_s": round(args.n / report.seconds),
        "flush_max_loop_stall_ms": round(max_stall_ms, 2),
    }


async def one_at_a_time(
    client: AsyncMongoClient[dict[str, Any]], pairs: list[tuple[str, str]], concurrency: int
) -> None:
    users = client[DB]["users"]
    work = iter(pairs)

    async def writer() -> None:
        for wallet, path in work:
            await users.update_one({"walletAddress": wallet}, {"$inc": {f"stats.{path}": 1}})

    await asyncio.gather(*(writer() for _ in range(concurrency)))


async def bench_compare(mongo_uri: str, args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed + 1)
    listener = RoundTrips()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        mongo_uri, event_listeners=[listener], retryWrites=args.retry_writes
    )
    try:
        wallets = [f"CompareWallet{number:05d}" for number in range(args.compare_players)]
        pairs = [(w, rng.choice(PATHS)) for w in wallets for _ in range(args.compare_increments)]
        rng.shuffle(pairs)
        expected = len(pairs)

        await insert_users(client, wallets)
        listener.updates = 0
        started = time.perf_counter()
        batcher = StatsBatcher.for_database(client, DB)
        for wallet, path in pairs:
            batcher.queue(wallet, path)
        await batcher.flush()
        batched_s, batched_trips = time.perf_counter() - started, listener.updates
        batched_ok = await stored_total(client) == expected

        await insert_users(client, wallets)
        listener.updates = 0
        started = time.perf_counter()
        await one_at_a_time(client, pairs, args.concurrency)
        single_s, single_trips = time.perf_counter() - started, listener.updates
        single_ok = await stored_total(client) == expected
    finally:
        await client.close()
    if not (batched_ok and single_ok):
        raise SystemExit("compare: a stored total does not match the increments written")
    return {
        "players": args.compare_players,
        "increments": expected,
        "concurrency": args.concurrency,
        "batched_s": round(batched_s, 4),
        "batched_round_trips": batched_trips,
        "one_at_a_time_s": round(single_s, 4),
        "one_at_a_time_round_trips": single_trips,
        "speedup": round(single_s / batched_s, 1),
        "round_trip_ratio": round(single_trips / batched_trips, 1),
    }


async def run(mongo_uri: str, args: argparse.Namespace) -> dict[str, Any]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        mongo_uri, retryWrites=args.retry_writes
    )
    try:
        await init_models(client, DB)  # the real indexes: unique walletAddress above all
        figures = {"queue_flush": await bench_queue_and_flush(client, args)}
    finally:
        await client.close()
    if args.compare_players > 0:
        figures["compare"] = await bench_compare(mongo_uri, args)
    return figures


def show(figures: dict[str, Any]) -> None:
    qf = figures["queue_flush"]
    ns = qf["queue_ns_per_call"]
    print(
        f"queue(): {qf['increments']:,} calls over {qf['counters']:,} counters "
        f"({qf['players']:,} players): ns/call median {ns['median']}, p95 {ns['p95']}, "
        f"p99 {ns['p99']}, max {ns['max']}"
    )
    print(
        f"flush(): {qf['flush_ops']:,} update ops in {qf['flush_bulk_writes']} bulk writes, "
        f"{qf['flush_s']} s = {qf['flush_ops_per_s']:,} ops/s "
        f"({qf['flush_increments_per_s']:,} increments/s); event loop stalled at most "
        f"{qf['flush_max_loop_stall_ms']} ms; stored total verified"
    )
    if "compare" in figures:
        c = figures["compare"]
        print(
            f"{c['players']:,} players x {c['increments'] // c['players']} increments: "
            f"batched {c['batched_s']} s in {c['batched_round_trips']} round trips; "
            f"one at a time (concurrency {c['concurrency']}) {c['one_at_a_time_s']} s in "
            f"{c['one_at_a_time_round_trips']:,} round trips; {c['speedup']}x faster, "
            f"{c['round_trip_ratio']}x fewer round trips"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--n", type=int, default=1_000_000, help="increments to queue")
    parser.add_argument("--wallets", type=int, default=10_000, help="players (pre-inserted)")
    parser.add_argument("--paths", type=int, default=5, choices=range(1, len(PATHS) + 1))
    parser.add_argument("--batch", type=int, default=1000, help="queue() calls per timing")
    parser.add_argument("--warmup", type=int, default=100_000, help="untimed queue() calls")
    parser.add_argument("--chunk-size", type=int, default=1000, help="players per bulk write")
    parser.add_argument("--compare-players", type=int, default=1000, help="0 skips part 3")
    parser.add_argument("--compare-increments", type=int, default=100, help="per player")
    parser.add_argument("--concurrency", type=int, default=1, help="one-at-a-time writers")
    parser.add_argument(
        "--retry-writes",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="the driver's retryable writes, as the server's client uses them",
    )
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-stats-") as tmp:
        database = EmbeddedDatabase(Path(tmp))
        database.start()
        try:
            figures = asyncio.run(run(database.uri, args))
        finally:
            database.stop()
    show(figures)
    if args.json:
        payload = {"args": {k: str(v) for k, v in vars(args).items()}, "git": git_revision()}
        args.json.write_text(json.dumps(payload | figures, indent=2))


if __name__ == "__main__":
    main()
