#!/usr/bin/env python3
"""Many-nodes benchmark: 3 `clubpengu serve` nodes on this machine (one SecantusDB, one
redis-server), N signed-in clients in rooms of 20 that mix the nodes, each moving at 10 Hz.

    .venv/bin/python scripts/bench_cluster.py                      # 600 clients, 30 s
    .venv/bin/python scripts/bench_cluster.py --n 1200 --duration 20 --json cluster.json

Client i joins room `bench_<i // 20>` on node i % 3, so every room has members on every
node. Each client moves every 100 ms along its own path of unique coordinates (as in
bench_realtime.py) and says something in chat every --chat-every seconds. Every client
measures, for every entry of every `moves` batch it receives, the time since the mover
sent that position (a position superseded within a tick counts until the batch that
carried the later one), split by where the mover is: the client itself (own echo), a
room-mate on the same node, a room-mate on another node (crossed Redis). Same-node and
cross-node figures come from the same run and the same batches.

Redis messages are counted by Redis itself: `INFO commandstats` (calls of PUBLISH and of
EVAL, the scripts that release session owners and route pushes) before and after the
movement, so nothing like MONITOR slows Redis down. The bound to check is rooms x nodes x
ticks per second + chat messages per second: each node publishes one `moves` message per
room per tick (its own movers), whatever the number of moves.

The load generator is one process (nice 10) on uvloop with the minimal client of
benchws.py; it holds every mover's send times, which is what lets a client on one node
time a move sent through another. CPU is reported for every process. The idle share of
the CPUs just before the run is reported, with a warning under 85 %.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import multiprocessing as mp
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
import redis

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_realtime import (
    MOVE_HZ,
    PATH_START,
    PATH_WIDTH,
    ROOM_SIZE,
    SIGN_IN_CONCURRENCY,
    _move_phase,
    idle_percent,
    path_point,
    rooms_file,
)
from benchlib import (
    ProcessSampler,
    Wallet,
    redis_server,
    serve_node,
    sign_in_and_join,
    write_json,
)
from benchws import BenchSocket, connect

from clubpengu.db import EmbeddedDatabase

DRAIN_SECONDS = 1.0
RESOLUTION = 10_000  # histogram bins per second: 0.1 ms
LAST_BIN = 5 * RESOLUTION  # 5 s and more in the last bin
OWN, SAME, CROSS = "own", "same_node", "cross_node"


def point_index(x: int, y: int) -> int:
    """The k of path_point(k) == (x, y)."""
    row = y - PATH_START
    step = x - PATH_START if row % 2 == 0 else PATH_WIDTH - 1 - (x - PATH_START)
    return row * PATH_WIDTH + step


class Histogram:
    """Latencies in 0.1 ms bins: percentiles of millions of samples in constant memory."""

    def __init__(self) -> None:
        self.bins = [0] * (LAST_BIN + 1)
        self.count = 0
        self.max = 0.0

    def add(self, seconds: float) -> None:
        index = int(seconds * RESOLUTION)
        self.bins[index if index < LAST_BIN else LAST_BIN] += 1
        self.count += 1
        if seconds > self.max:
            self.max = seconds

    def merge(self, other: dict[str, Any]) -> None:
        self.bins = [a + b for a, b in zip(self.bins, other["bins"], strict=True)]
        self.count += other["count"]
        self.max = max(self.max, other["max"])

    def percentile(self, share: float) -> float:
        target, running = share * self.count, 0
        for index, count in enumerate(self.bins):
            running += count
            if running >= target:
                return (index + 0.5) / RESOLUTION * 1000
        return self.max * 1000

    def summary(self) -> dict[str, float]:
        if not self.count:
            return {"count": 0}
        return {
            "count": self.count,
            "p50": round(self.percentile(0.50), 1),
            "p95": round(self.percentile(0.95), 1),
            "p99": round(self.percentile(0.99), 1),
            "max": round(self.max * 1000, 1),
        }


class Player:
    """One client: where it is, what it sent and when, what it has seen of whom."""

    movers: dict[str, Player] = {}  # every client of the run, by player id

    def __init__(self, index: int, room: str, node: int) -> None:
        self.index, self.room, self.node = index, room, node
        self.wallet = Wallet()
        self.socket: BenchSocket | None = None
        self.player_id = ""
        self.k = 0
        self.sent: list[float] = []  # send time of move k at [k - 1]
        self.last_seen: dict[str, int] = {}
        self.latency = {OWN: Histogram(), SAME: Histogram(), CROSS: Histogram()}
        self.batches = 0
        self.duplicates = 0
        self.chats = 0
        self.reply: asyncio.Future[dict[str, Any]] | None = None

    def on_text(self, payload: bytes) -> None:
        now = time.perf_counter()
        frame = orjson.loads(payload)
        kind = frame.get("type")
        if kind == "moves":
            self._moves(frame["moves"], now)
        elif frame.get("rid") == 1 and self.reply is not None and not self.reply.done():
            self.reply.set_result(frame)

    async def request(self, payload: dict[str, Any]) -> dict[str, Any]:
        assert self.socket is not None
        self.reply = asyncio.get_running_loop().create_future()
        self.socket.send_text(orjson.dumps(payload | {"rid": 1}))
        async with asyncio.timeout(120):
            return await self.reply

    async def enter(self, port: int) -> None:
        self.socket = await connect("127.0.0.1", port, self.on_text)
        joined = await sign_in_and_join(self.request, self.wallet, self.room)
        self.player_id = joined["playerId"]
        Player.movers[self.player_id] = self

    def move(self) -> None:
        assert self.socket is not None
        self.k += 1
        x, y = path_point(self.k)
        self.sent.append(time.perf_counter())
        self.socket.send_text(b'{"type":"move","x":%d,"y":%d}' % (x, y))

    def chat(self) -> None:
        assert self.socket is not None
        self.chats += 1
        self.socket.send_text(b'{"type":"chat","text":"hello from the benchmark"}')

    def _moves(self, moves: list[dict[str, Any]], now: float) -> None:
        self.batches += 1
        if len({entry["playerId"] for entry in moves}) != len(moves):
            self.duplicates += 1
        movers, last_seen = Player.movers, self.last_seen
        for entry in moves:
            pid = entry["playerId"]
            mover = movers.get(pid)
            if mover is None:
                continue
            k = point_index(int(entry["x"]), int(entry["y"]))
            last = last_seen.get(pid, 0)
            if k <= last:
                continue
            last_seen[pid] = k
            kind = OWN if mover is self else SAME if mover.node == self.node else CROSS
            histogram, sent = self.latency[kind], mover.sent
            for j in range(last, k):
                histogram.add(now - sent[j])

    async def close(self) -> None:
        if self.socket is not None:
            self.socket.close()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(10):
                    await self.socket.closed


async def _chat_phase(players: list[Player], duration: float, every: float) -> None:
    """Each client chats once every `every` seconds, spread evenly over the period."""
    if every <= 0:
        return
    loop = asyncio.get_running_loop()
    started, gap = loop.time(), every / len(players)
    for turn in range(int(duration / gap)):
        await asyncio.sleep(max(0.0, started + turn * gap - loop.time()))
        players[turn % len(players)].chat()


async def _run(ports: list[int], players: list[Player], args: dict[str, Any], start: Any,
               ready: Any) -> dict[str, Any]:  # fmt: skip
    gate = asyncio.Semaphore(SIGN_IN_CONCURRENCY)

    async def enter(player: Player) -> None:
        async with gate:
            await player.enter(ports[player.node])

    await asyncio.gather(*(enter(p) for p in players))
    ready.put(os.getpid())
    await asyncio.to_thread(start.wait)
    await asyncio.gather(
        _move_phase(players, args["duration"]),
        _chat_phase(players, args["duration"], args["chat_every"]),
    )
    await asyncio.sleep(DRAIN_SECONDS)
    result = _collect(players, args["duration"])
    await asyncio.gather(*(p.close() for p in players))
    return result


def _collect(players: list[Player], duration: float) -> dict[str, Any]:
    latency = {kind: Histogram() for kind in (OWN, SAME, CROSS)}
    delivered = {SAME: [0, 0], CROSS: [0, 0]}  # [moves seen, moves sent] by room-mates
    for player in players:
        for kind, histogram in player.latency.items():
            latency[kind].merge(vars(histogram))
        for mover in players:
            if mover is player or mover.room != player.room:
                continue
            kind = SAME if mover.node == player.node else CROSS
            delivered[kind][0] += player.last_seen.get(mover.player_id, 0)
            delivered[kind][1] += mover.k
    return {
        "latency": {kind: histogram.summary() for kind, histogram in latency.items()},
        "delivered": delivered,
        "moves_sent": sum(p.k for p in players),
        "chats_sent": sum(p.chats for p in players),
        "batches_per_client_per_s": round(
            sum(p.batches for p in players) / len(players) / duration, 2
        ),
        "batches_with_a_player_twice": sum(p.duplicates for p in players),
    }


def _worker(ports: list[int], specs: list[tuple[int, str, int]], args: dict[str, Any],
            start: Any, ready: Any, results: Any) -> None:  # fmt: skip
    os.nice(args["nice"])
    players = [Player(i, room, node) for i, room, node in specs]
    runner: Any = asyncio.run
    with contextlib.suppress(ImportError):
        import uvloop

        runner = uvloop.run
    results.put(runner(_run(ports, players, args, start, ready)))


def redis_calls(url: str) -> dict[str, int]:
    """Calls per command since Redis started (INFO commandstats)."""
    client = redis.Redis.from_url(url)
    try:
        stats = client.info("commandstats")
    finally:
        client.close()
    return {name.removeprefix("cmdstat_"): int(value["calls"]) for name, value in stats.items()}


class Infrastructure:
    """The database, Redis and the nodes, and a CPU sampler for each process."""

    def __init__(self, stack: contextlib.ExitStack, tmp: Path, n_rooms: int, nodes: int,
                 extra_env: dict[str, str]) -> None:  # fmt: skip
        self.database = EmbeddedDatabase(tmp / "db")
        self.database.start()
        stack.callback(self.database.stop)
        self.redis, self.redis_url = stack.enter_context(redis_server(tmp / "redis"))
        rooms = stack.enter_context(rooms_file(n_rooms))
        common = {
            "MONGODB_URI": self.database.uri,
            "REDIS_URL": self.redis_url,
            "JWT_SECRET": secrets.token_urlsafe(48),  # one secret: a token works anywhere
            "CLUBPENGU_ROOMS": str(rooms),
            "DAILY_BONUS_COINS": "0",
        }
        self.servers = [
            stack.enter_context(
                serve_node(
                    tmp / f"node-{i + 1}" / "data",
                    common | {"NODE_ID": f"node-{i + 1}"} | extra_env,
                )
            )
            for i in range(nodes)
        ]

    def samplers(self) -> dict[str, ProcessSampler]:
        assert self.database.process is not None
        found = {f"node-{i + 1}": ProcessSampler(s.process.pid) for i, s in enumerate(self.servers)}
        found["redis"] = ProcessSampler(self.redis.pid)
        found["database"] = ProcessSampler(self.database.process.pid)
        return found


def run_once(n: int, nodes: int, duration: float, chat_every: float,
             extra_env: dict[str, str], nice: int = 10) -> dict[str, Any]:  # fmt: skip
    idle_before = idle_percent()
    if idle_before < 85:
        print(f"warning: the machine was only {idle_before} % idle before this run")
    n_rooms = math.ceil(n / ROOM_SIZE)
    specs = [(i, f"bench_{i // ROOM_SIZE}", i % nodes) for i in range(n)]
    context = mp.get_context("fork")
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        infra = Infrastructure(stack, tmp, n_rooms, nodes, extra_env)
        start, ready, results = context.Event(), context.Queue(), context.Queue()
        args = {"duration": duration, "nice": nice, "chat_every": chat_every}
        ports = [server.port for server in infra.servers]
        proc = context.Process(target=_worker, args=(ports, specs, args, start, ready, results))
        signing_started = time.perf_counter()
        proc.start()
        pid = ready.get(timeout=900)
        signing_wall = time.perf_counter() - signing_started
        samplers = infra.samplers() | {"load_generator": ProcessSampler(pid)}
        before = redis_calls(infra.redis_url)
        for sampler in samplers.values():
            sampler.start()
        start.set()
        time.sleep(duration)
        cpu = {name: round(s.cpu_percent(), 1) for name, s in samplers.items()}
        after = redis_calls(infra.redis_url)
        part = results.get(timeout=300)
        proc.join(30)
    calls = {
        cmd: (after.get(cmd, 0) - before.get(cmd, 0)) / duration for cmd in ("publish", "eval")
    }
    return part | {
        "n": n,
        "nodes": nodes,
        "rooms": n_rooms,
        "duration_s": duration,
        "sign_in_wall_s": round(signing_wall, 1),
        "idle_before_percent": idle_before,
        "cpu_percent": cpu,
        "redis_per_s": {cmd: round(rate, 1) for cmd, rate in calls.items()},
        "redis_publish_bound_per_s": round(
            n_rooms * nodes * MOVE_HZ + part["chats_sent"] / duration, 1
        ),
        "env": extra_env,
    }


def report(f: dict[str, Any]) -> None:
    print(f"{f['n']} clients in {f['rooms']} rooms of {ROOM_SIZE} across {f['nodes']} nodes, "
          f"{MOVE_HZ} moves/s each, {f['duration_s']} s (CPUs {f['idle_before_percent']} % "
          f"idle before; sign-in {f['sign_in_wall_s']} s)")  # fmt: skip
    latency = f["latency"]
    for kind, label in ((OWN, "own echo"), (SAME, "same node"), (CROSS, "cross node")):
        m = latency[kind]
        print(f"  move->moves {label:<11} p50 {m.get('p50')} ms  p95 {m.get('p95')} ms  "
              f"p99 {m.get('p99')} ms  max {m.get('max')} ms  ({m['count']} samples)")  # fmt: skip
    gap = latency[CROSS]["p99"] - latency[SAME]["p99"]
    print(f"  cross-node p99 - same-node p99: {gap:+.1f} ms (target: at most +15 ms)")
    for kind in (SAME, CROSS):
        seen, sent = f["delivered"][kind]
        print(f"  delivered to {kind.replace('_', '-')} room-mates: {seen}/{sent} moves "
              f"({100 * seen / max(1, sent):.2f} %)")  # fmt: skip
    print(f"  batches per client per second {f['batches_per_client_per_s']} (tick {MOVE_HZ} Hz); "
          f"batches naming a player twice: {f['batches_with_a_player_twice']}")  # fmt: skip
    r = f["redis_per_s"]
    print(f"  Redis PUBLISH {r['publish']}/s (bound rooms x nodes x {MOVE_HZ} + chat = "
          f"{f['redis_publish_bound_per_s']}/s; {f['chats_sent']} chats), EVAL {r['eval']}/s; "
          f"{f['moves_sent'] / f['duration_s']:.0f} moves/s sent")  # fmt: skip
    cpu = ", ".join(f"{name} {value}" for name, value in f["cpu_percent"].items())
    print(f"  CPU (% of one core): {cpu}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=600, help="clients")
    parser.add_argument("--nodes", type=int, default=3, help="app nodes")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of movement")
    parser.add_argument("--chat-every", type=float, default=10.0,
                        help="seconds between two chats of a client (0: no chat)")  # fmt: skip
    parser.add_argument("--env", action="append", default=[], metavar="VAR=VALUE",
                        help="extra setting for every node, e.g. TICK_LEAD=30ms")  # fmt: skip
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    extra_env = dict(item.split("=", 1) for item in args.env)
    figures = run_once(args.n, args.nodes, args.duration, args.chat_every, extra_env)
    report(figures)
    write_json(args.json, figures | {"args": vars(args) | {"json": str(args.json)}})


if __name__ == "__main__":
    main()
