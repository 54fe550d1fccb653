#!/usr/bin/env python3
"""Realtime benchmark: N signed-in clients in rooms of 20, each moving at 10 Hz, against
`clubpengu serve` on the embedded database; measures move -> `moves` delivery latency.

    .venv/bin/python scripts/bench_realtime.py                # 1,000 clients, 30 s
    .venv/bin/python scripts/bench_realtime.py --n 200 --duration 10
    .venv/bin/python scripts/bench_realtime.py --find-max     # step N up until p99 > 150 ms

Each client signs in with a real ed25519 signature and joins its room (the sign-in+join
latency is reported), then sends `move` every 100 ms along its own path of unique
coordinates. Latency is measured by each client for its own moves: from sending a move
to receiving the first `moves` batch that carries that position or a later one of its
own (a move superseded within the same tick counts, conservatively, until the batch that
replaced it). Delivery: every own move must be covered by a batch, and every room-mate
must see each player's entries as often as the player sees them itself (all members of a
room get the same batches). The catalogue has no room for 50 rooms of 20, so the server
gets a generated rooms file (CLUBPENGU_ROOMS) with rooms `bench_0 ...` of capacity 20.

The load runs in `--workers` processes (default 1), each one uvloop loop with orjson and a
minimal RFC 6455 client (benchws.py: frames handled as they are parsed, no task per
client), at `nice 10`: on a real deployment the clients are not on the server's cores, and
on this shared 2-core machine the scheduler should not let them preempt it mid-tick. Its
CPU is reported beside the server's and the database's. The clients do not negotiate
per-message deflate (the server's default, WS_COMPRESSION=false). Other work on the
machine skews every figure: the idle share of the CPUs just before the run is reported,
with a warning under 85 %.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import multiprocessing as mp
import os
import sys
import tempfile
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import ProcessSampler, Wallet, idle_percent, serve, summary_ms, write_json
from benchws import BenchSocket, connect

ROOM_SIZE = 20
MOVE_HZ = 10
DRAIN_SECONDS = 1.0
SIGN_IN_CONCURRENCY = 50
PHASES = 100
PATH_START, PATH_WIDTH = 100, 1000  # the zigzag each client walks, 1 unit per move


def path_point(k: int) -> tuple[int, int]:
    """The k-th position of a client's path: unique, 1 unit from the previous one."""
    row, step = divmod(k, PATH_WIDTH)
    x = PATH_START + (step if row % 2 == 0 else PATH_WIDTH - 1 - step)
    return x, PATH_START + row


class Player:
    """One client: its socket, its unacknowledged moves and what it has seen. Frames are
    handled as they are parsed (benchws), without a task per client."""

    def __init__(self, index: int, room: str) -> None:
        self.index, self.room = index, room
        self.wallet = Wallet()
        self.socket: BenchSocket | None = None
        self.player_id = ""
        self.k = 0
        self.pending: deque[tuple[int, float]] = deque()  # (k, sent at), in send order
        self.latencies: list[float] = []
        self.own_entries = 0
        self.others: dict[str, int] = {}
        self.sent = 0
        self.reply: asyncio.Future[dict[str, Any]] | None = None

    def on_text(self, payload: bytes) -> None:
        now = time.perf_counter()
        frame = orjson.loads(payload)
        if frame.get("type") == "moves":
            self._moves(frame["moves"], now)
        elif frame.get("rid") == 1 and self.reply is not None and not self.reply.done():
            self.reply.set_result(frame)

    async def request(self, payload: dict[str, Any]) -> dict[str, Any]:
        assert self.socket is not None
        self.reply = asyncio.get_running_loop().create_future()
        self.socket.send_text(orjson.dumps(payload | {"rid": 1}))
        async with asyncio.timeout(120):
            return await self.reply

    async def enter(self, host: str, port: int) -> float:
        started = time.perf_counter()
        self.socket = await connect(host, port, self.on_text)
        challenge = await self.request({"type": "auth_request"})
        signed = await self.request(
            {
                "type": "auth_verify",
                "walletAddress": self.wallet.address,
                "signature": self.wallet.sign(challenge["nonce"]),
            }
        )
        assert signed["type"] == "auth_success", signed
        joined = await self.request({"type": "join", "room": self.room})
        assert joined["type"] == "joined", joined
        self.player_id = joined["playerId"]
        return time.perf_counter() - started

    def move(self) -> None:
        assert self.socket is not None
        self.k += 1
        x, y = path_point(self.k)
        self.pending.append((self.k, time.perf_counter()))
        self.sent += 1
        self.socket.send_text(b'{"type":"move","x":%d,"y":%d}' % (x, y))

    def _moves(self, moves: list[dict[str, Any]], now: float) -> None:
        me, others = self.player_id, self.others
        for entry in moves:
            pid = entry["playerId"]
            if pid == me:
                self.own_entries += 1
                self._covered(entry["x"], entry["y"], now)
            else:
                others[pid] = others.get(pid, 0) + 1

    def _covered(self, x: float, y: float, now: float) -> None:
        """Every pending move up to the one at (x, y) has been delivered."""
        pending = self.pending
        target = next((k for k, _ in pending if path_point(k) == (x, y)), None)
        if target is None:
            return
        while pending and pending[0][0] <= target:
            self.latencies.append(now - pending.popleft()[1])

    async def close(self) -> None:
        if self.socket is not None:
            self.socket.close()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(10):
                    await self.socket.closed


async def _run_worker(
    port: int, players: list[Player], args: dict[str, Any], start: Any, ready: Any
) -> dict[str, Any]:
    gate = asyncio.Semaphore(SIGN_IN_CONCURRENCY)

    async def enter(player: Player) -> float:
        async with gate:
            return await player.enter("127.0.0.1", port)

    sign_ins = await asyncio.gather(*(enter(p) for p in players))
    ready.put(os.getpid())
    await asyncio.to_thread(start.wait)
    await _move_phase(players, args["duration"])
    await asyncio.sleep(DRAIN_SECONDS)
    result = {
        "sign_in": sign_ins,
        "latencies": [s for p in players for s in p.latencies],
        "sent": sum(p.sent for p in players),
        "uncovered": sum(len(p.pending) for p in players),
        "own": {p.player_id: p.own_entries for p in players},
        "rooms": {p.player_id: p.room for p in players},
        "others": [p.others for p in players],
        "observer_rooms": [p.room for p in players],
    }
    await asyncio.gather(*(p.close() for p in players))
    return result


async def _move_phase(players: list[Player], duration: float) -> None:
    """Every client moves every 1/MOVE_HZ s, phases spread evenly over the period (in
    PHASES slots, so that the latency does not hinge on how a few slots line up with
    the server's tick)."""
    slots = PHASES
    period = 1.0 / MOVE_HZ
    groups = [players[i::slots] for i in range(slots)]
    loop = asyncio.get_running_loop()
    started = loop.time()
    tick = 0
    while loop.time() - started < duration:
        due = started + tick * period / slots
        await asyncio.sleep(max(0.0, due - loop.time()))
        for player in groups[tick % slots]:
            player.move()
        tick += 1


def _worker(port: int, specs: list[tuple[int, str]], args: dict[str, Any], start: Any,
            ready: Any, results: Any) -> None:  # fmt: skip
    os.nice(args["nice"])
    players = [Player(i, room) for i, room in specs]
    runner: Any = asyncio.run
    with contextlib.suppress(ImportError):  # uvloop comes with uvicorn[standard]
        import uvloop

        runner = uvloop.run
    results.put(runner(_run_worker(port, players, args, start, ready)))


@contextmanager
def rooms_file(n_rooms: int) -> Iterator[Path]:
    rooms = [
        {"id": f"bench_{i}", "name": f"Bench {i}", "width": 1520, "height": 960,
         "spawn": [PATH_START, PATH_START], "capacity": ROOM_SIZE, "speed": 600}
        for i in range(n_rooms)
    ]  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rooms.json"
        path.write_text(json.dumps({"default": "bench_0", "rooms": rooms}))
        yield path


def aggregate(parts: list[dict[str, Any]]) -> dict[str, Any]:
    own: dict[str, int] = {}
    room_of: dict[str, str] = {}
    for part in parts:
        own |= part["own"]
        room_of |= part["rooms"]
    seen = expected = 0
    for part in parts:
        for observer_room, others in zip(part["observer_rooms"], part["others"], strict=True):
            for pid, count in own.items():
                if room_of[pid] == observer_room:
                    expected += count
                    seen += others.get(pid, 0)
    expected -= sum(own.values())  # a player is not its own room-mate
    sent = sum(p["sent"] for p in parts)
    uncovered = sum(p["uncovered"] for p in parts)
    return {
        "sign_in_join": summary_ms([s for p in parts for s in p["sign_in"]]),
        "move_to_moves": summary_ms([s for p in parts for s in p["latencies"]]),
        "own_moves_sent": sent,
        "own_moves_delivered": sent - uncovered,
        "own_entries_seen": sum(own.values()),
        "others_entries_expected": expected,
        "others_entries_seen": seen,
    }


def run_once(n: int, duration: float, workers: int, nice: int = 10) -> dict[str, Any]:
    idle_before = idle_percent()
    if idle_before < 85:
        print(f"warning: the machine was only {idle_before} % idle before this run")
    n_rooms = math.ceil(n / ROOM_SIZE)
    specs = [(i, f"bench_{i // ROOM_SIZE}") for i in range(n)]
    context = mp.get_context("fork")
    with rooms_file(n_rooms) as path, serve({"CLUBPENGU_ROOMS": str(path)}) as server:
        start, ready, results = context.Event(), context.Queue(), context.Queue()
        args = {"duration": duration, "nice": nice}
        procs = [
            context.Process(
                target=_worker, args=(server.port, specs[w::workers], args, start, ready, results)
            )
            for w in range(workers)
        ]
        signing_started = time.perf_counter()
        for proc in procs:
            proc.start()
        pids = [ready.get(timeout=600) for _ in procs]
        signing_wall = time.perf_counter() - signing_started
        samplers = {
            "server": ProcessSampler(server.process.pid),
            "database": ProcessSampler(server.database_pid()),
        }
        generators = [ProcessSampler(pid) for pid in pids]
        for sampler in [*samplers.values(), *generators]:
            sampler.start()
        start.set()
        peak_rss = 0.0
        deadline = time.monotonic() + duration
        while time.monotonic() < deadline:
            peak_rss = max(peak_rss, samplers["server"].rss_mb())
            time.sleep(0.5)
        cpu = {name: round(s.cpu_percent(), 1) for name, s in samplers.items()}
        cpu["load_generator"] = round(sum(g.cpu_percent() for g in generators), 1)
        rss = {name: round(s.rss_mb(), 1) for name, s in samplers.items()}
        parts = [results.get(timeout=120) for _ in procs]
        for proc in procs:
            proc.join(30)
    figures = aggregate(parts)
    figures |= {
        "n": n,
        "rooms": n_rooms,
        "duration_s": duration,
        "workers": workers,
        "sign_in_wall_s": round(signing_wall, 1),
        "idle_before_percent": idle_before,
        "cpu_percent": cpu,
        "rss_mb": rss | {"server_peak": round(max(peak_rss, rss["server"]), 1)},
    }
    return figures


def report(f: dict[str, Any]) -> None:
    s, m = f["sign_in_join"], f["move_to_moves"]
    own = 100 * f["own_moves_delivered"] / max(1, f["own_moves_sent"])
    others = 100 * f["others_entries_seen"] / max(1, f["others_entries_expected"])
    print(f"{f['n']} clients in {f['rooms']} rooms of {ROOM_SIZE}, {MOVE_HZ} moves/s each, "
          f"{f['duration_s']} s (CPUs {f['idle_before_percent']} % idle before)")  # fmt: skip
    print(f"  sign-in+join   p50 {s['p50']} ms  p99 {s['p99']} ms  ({f['sign_in_wall_s']} s)")
    print(f"  move->moves    p50 {m['p50']} ms  p95 {m['p95']} ms  p99 {m['p99']} ms  "
          f"max {m['max']} ms  ({m['count']} samples)")  # fmt: skip
    print(f"  delivered      own moves {f['own_moves_delivered']}/{f['own_moves_sent']} "
          f"({own:.2f} %), others' entries {f['others_entries_seen']}/"
          f"{f['others_entries_expected']} ({others:.2f} %)")  # fmt: skip
    cpu, rss = f["cpu_percent"], f["rss_mb"]
    print(f"  CPU (% of one core): server {cpu['server']}, database {cpu['database']}, "
          f"load generator {cpu['load_generator']}")  # fmt: skip
    print(f"  RSS: server {rss['server']} MB (peak {rss['server_peak']}), "
          f"database {rss['database']} MB")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="clients")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of movement")
    parser.add_argument("--workers", type=int, default=1, help="load generator processes")
    parser.add_argument("--find-max", action="store_true", help="step N up until p99 > 150 ms")
    parser.add_argument("--step", type=int, default=250, help="--find-max: N increment")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if not args.find_max:
        figures = run_once(args.n, args.duration, args.workers)
        report(figures)
        write_json(args.json, figures | {"args": vars(args) | {"json": str(args.json)}})
        return
    steps, n = [], args.n
    while True:
        figures = run_once(n, args.duration, args.workers)
        report(figures)
        steps.append(figures)
        if figures["move_to_moves"]["p99"] > 150:
            break
        n += args.step
    passing = [s["n"] for s in steps if s["move_to_moves"]["p99"] <= 150]
    print(f"largest N with p99 <= 150 ms: {max(passing) if passing else 'none'}")
    write_json(args.json, {"steps": steps, "largest_n": max(passing, default=None)})


if __name__ == "__main__":
    main()
