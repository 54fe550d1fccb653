#!/usr/bin/env python3
"""Write speed over uptime: 50,000 writes made the way the server makes them, against a
fresh embedded SecantusDB, and the rate in each window of writes.

    .venv/bin/python scripts/bench_write_decay.py                 # as the server writes now
    .venv/bin/python scripts/bench_write_decay.py --before        # retryable writes on and
                                                                  # --sync-on-commit, as before
    .venv/bin/python scripts/bench_write_decay.py --writes 20000 --window 2000 --json out.json

Players visit, `--concurrency` at a time: each visit is a wallet sign-in (AuthService: the
user's findAndModify, the session's insert), presence on arrival (PresenceService), the
daily bonus on a wallet's first visit (the ledger's transaction), a shop purchase
(ShopService: the ledger's transaction; a first visit gets coins first, an admin's grant),
the connection log and presence on leaving;
events and stats counters are queued and flushed every `--flush-every` visits (EventRecorder,
StatsBatcher: one bulk write each). Half the visits are by wallets that came before
(returning players). The services talk to the database through the same client options as
`clubpengu serve` (the embedded URI), so the writes carry the same write concerns.

A write is a write command sent (insert, update, delete, findAndModify; a bulk write is
one). For each window of `--window` writes it prints the rate (writes/s), the database
process's CPU per write, and the commands; at the end, the last window's rate against the
first's (target: within 20 %). CPU per write is the steadier figure on a shared machine.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient, monitoring

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from benchlib import ProcessSampler, Wallet, idle_percent, write_json  # noqa: E402

from clubpengu.db import EmbeddedDatabase, init_models  # noqa: E402
from clubpengu.services.auth import AuthConfig, AuthService  # noqa: E402
from clubpengu.services.catalog import ItemType, load_catalog  # noqa: E402
from clubpengu.services.connection_log import ConnectionLogService, Opened  # noqa: E402
from clubpengu.services.economy import EconomyService  # noqa: E402
from clubpengu.services.events import EventRecorder  # noqa: E402
from clubpengu.services.presence import Place, PresenceService  # noqa: E402
from clubpengu.services.shop import ShopService  # noqa: E402
from clubpengu.services.stats import StatsBatcher  # noqa: E402

DB = "bench_decay"
WRITES = frozenset({"insert", "update", "delete", "findAndModify"})


class Windows(monitoring.CommandListener):
    """Cuts the run into windows of `size` write commands: time, database CPU, commands."""

    def __init__(self, size: int, database: ProcessSampler) -> None:
        self.size, self.database = size, database
        self.writes = 0
        self.commands: Counter[str] = Counter()
        self.rows: list[dict[str, Any]] = []
        self._start = (time.perf_counter(), database.cpu_seconds())

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.commands[event.command_name] += 1
        if event.command_name not in WRITES:
            return
        self.writes += 1
        if self.writes % self.size == 0:
            now, cpu = time.perf_counter(), self.database.cpu_seconds()
            seconds, cpu_used = now - self._start[0], cpu - self._start[1]
            self.rows.append({
                "writes": self.writes, "seconds": round(seconds, 2),
                "per_second": round(self.size / seconds, 1),
                "db_cpu_ms_per_write": round(1000 * cpu_used / self.size, 3),
                "commands": dict(self.commands),
            })  # fmt: skip
            print(f"  writes {self.writes:>6}: {self.rows[-1]['per_second']:>7} writes/s, "
                  f"database {self.rows[-1]['db_cpu_ms_per_write']} ms CPU per write  "
                  f"{dict(sorted(self.commands.items()))}", flush=True)  # fmt: skip
            self.commands = Counter()
            self._start = (now, cpu)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


class Server:
    """The services a node builds, on one client."""

    def __init__(self, client: AsyncMongoClient[dict[str, Any]]) -> None:
        config = AuthConfig("bench.local", timedelta(minutes=5), "x" * 40, timedelta(days=7))
        self.events = EventRecorder("bench", timedelta(days=1))
        self.auth = AuthService(config, events=self.events)
        self.presence = PresenceService("bench")
        self.economy = EconomyService(client, DB)
        catalog = load_catalog()
        self.shop = ShopService(client, DB, self.economy, catalog)
        self.goods = [i.id for i in catalog.for_sale() if i.type == ItemType.PUFFLE_ITEM]
        self.stats = StatsBatcher.for_database(client, DB)
        self.log = ConnectionLogService("bench", 86400, "x" * 40)
        self.keys = itertools.count()

    async def visit(self, wallet: Wallet, first: bool) -> None:
        """One player's visit, as the server writes it."""
        challenge = self.auth.challenge()
        assert not isinstance(challenge, str)
        signed = await self.auth.sign_in(challenge, wallet.address, wallet.sign(challenge.text),
                                         "127.0.0.1")  # fmt: skip
        assert not isinstance(signed, str), signed
        player = f"p{next(self.keys)}"
        await self.presence.connected(wallet.address, player, "town", "town")
        self.events.record("join", wallet.address, room="town")
        if first:
            await self.economy.daily_bonus(wallet.address)  # the first join of the day
            # Coins to shop with, as an admin's grant through the staff API gives them.
            await self.economy.apply(wallet.address, 10**6, "grant", idempotency_key=player)
        await self.shop.purchase(wallet.address, random.choice(self.goods), player)
        for path, value in (("world.steps", 300), ("world.roomsVisited", 1), ("social.chats", 2)):
            self.stats.queue(wallet.address, path, value)
        log_id = self.log.opened(Opened(player, self.auth.clock(), "ip-hash", "bench"))
        self.log.signed_in(log_id, wallet.address, None)
        self.log.joined(log_id, wallet.address, "bench", None, ["town"])
        self.log.closed(log_id, 1000, ["town"])
        await self.presence.disconnected(wallet.address, player, Place("town", "town", 1, 2))


async def run(args: argparse.Namespace, uri: str, database: ProcessSampler) -> dict[str, Any]:
    windows = Windows(args.window, database)
    options: dict[str, Any] = {"retryWrites": True} if args.before else {}
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        uri, tz_aware=True, event_listeners=[windows], **options
    )
    await init_models(client, DB)
    server = Server(client)
    windows.writes, windows.commands, windows.rows = 0, Counter(), []
    windows._start = (time.perf_counter(), database.cpu_seconds())
    known: list[Wallet] = []  # wallets not visiting now (one visit per player at a time)
    visits = itertools.count()
    started = time.perf_counter()

    async def visitor() -> None:
        while windows.writes < args.writes:
            returning = bool(known) and random.random() < 0.5
            wallet = known.pop(random.randrange(len(known))) if returning else Wallet()
            await server.visit(wallet, first=not returning)
            known.append(wallet)
            if next(visits) % args.flush_every == 0:
                await server.events.flush()
                await server.stats.flush()

    await asyncio.gather(*(visitor() for _ in range(args.concurrency)))
    seconds = time.perf_counter() - started
    await server.log.flush()
    await client.close()
    rows = windows.rows
    ratio = rows[-1]["per_second"] / rows[0]["per_second"] if len(rows) > 1 else 1.0
    cpu_ratio = (rows[-1]["db_cpu_ms_per_write"] / rows[0]["db_cpu_ms_per_write"]
                 if len(rows) > 1 else 1.0)  # fmt: skip
    return {"windows": rows, "seconds": round(seconds, 1), "visits": next(visits),
            "end_vs_start_rate": round(ratio, 3),
            "end_vs_start_cpu_per_write": round(cpu_ratio, 3)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog=__doc__.split("\n\n", 2)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("--writes", type=int, default=50_000, help="write commands to make (default 50,000)")
    add("--window", type=int, default=5_000, help="writes per window (default 5,000)")
    add("--concurrency", type=int, default=20, help="players visiting at once")
    add("--flush-every", type=int, default=200, help="visits between event and stats flushes")
    add("--before", action="store_true",
        help="as before: retryable writes on, the database with --sync-on-commit")  # fmt: skip
    add("--json", type=Path, help="write every figure here")
    args = parser.parse_args()
    idle = idle_percent()
    print(f"{args.writes} writes in windows of {args.window} "
          f"({'before: retryable writes, --sync-on-commit' if args.before else 'as now'}; "
          f"CPUs {idle} % idle before)")  # fmt: skip
    extra = ["--sync-on-commit"] if args.before else []
    with tempfile.TemporaryDirectory() as tmp:
        database = EmbeddedDatabase(Path(tmp), extra_args=extra)
        with database:
            assert database.process is not None
            sampler = ProcessSampler(database.process.pid)
            figures = asyncio.run(run(args, database.uri, sampler))
    verdict = "within" if figures["end_vs_start_rate"] >= 0.8 else "NOT within"
    print(f"{figures['visits']} visits in {figures['seconds']} s; last window's rate is "
          f"{figures['end_vs_start_rate']:.2f} x the first's ({verdict} 20 %); database CPU "
          f"per write {figures['end_vs_start_cpu_per_write']:.2f} x")  # fmt: skip
    write_json(args.json, figures | {"idle_before_percent": idle, "args": vars(args) | {
        "json": str(args.json)}})  # fmt: skip


if __name__ == "__main__":
    main()
