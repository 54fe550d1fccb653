#!/usr/bin/env python3
"""Realtime benchmark: N signed-in clients in rooms of 20, each moving at 10 Hz, against
`clubpengu serve` on the embedded database; measures move -> `moves` delivery latency.

    .venv/bin/python scripts/bench_realtime.py                # 1,000 clients, 30 s
    .venv/bin/python scripts/bench_realtime.py --n 200 --duration 10
    .venv/bin/python scripts/bench_realtime.py --find-max     # step N up until p99 > 150 ms
    .venv/bin/python scripts/bench_realtime.py --town         # all ask for town, capacity 20
    .venv/bin/python scripts/bench_realtime.py --town --repeat 5   # 5 runs and their medians
    .venv/bin/python scripts/bench_realtime.py --env TICK_PHASES=1   # server settings
    .venv/bin/python scripts/bench_realtime.py --compare-metrics  # METRICS_ENABLED on vs off

Each client signs in with a real ed25519 signature and joins its room (the sign-in+join
latency is reported), then sends `move` every 100 ms along its own path of unique
coordinates. Latency is measured by each client for its own moves: from sending a move
to receiving the first `moves` batch that carries that position or a later one of its
own (a move superseded within the same tick counts, conservatively, until the batch that
replaced it). Delivery: every own move must be covered by a batch, and every room-mate
must see each player's entries as often as the player sees them itself (all members of a
room get the same batches). By default the server gets a generated rooms file
(CLUBPENGU_ROOMS) with rooms `bench_0 ...` of capacity 20; with `--town` it keeps the
built-in catalogue with ROOM_CAPACITY=20 and every client asks for `town`, so the server
seats them in instances (`town`, `town~2`, ...) as they come; each client groups its
room-mates by the instance its `joined` named. Each client walks a zigzag from where it
entered, one unit per move.

The load runs in `--workers` processes (default 1), each one uvloop loop with orjson and a
minimal RFC 6455 client (benchws.py: frames handled as they are parsed, no task per
client), at `nice 10`: on a real deployment the clients are not on the server's cores, and
on this shared 2-core machine the scheduler should not let them preempt it mid-tick. Its
CPU is reported beside the server's and the database's. The clients do not negotiate
per-message deflate (the server's default, WS_COMPRESSION=false). Other work on the
machine skews every figure: the idle share of the CPUs just before the run is reported,
with a warning under 85 %.

`--compare-metrics` runs the same scenario `--runs` times each with METRICS_ENABLED=true
and =false, alternating (on, off, on, off, ...) so that drift on a shared machine falls on
both, and prints each run's p50/p99 and server CPU, their means and the on/off ratios
(target: within 5 %). While metrics are on, /metrics is scraped every `--scrape-every`
seconds (5 s, three times as often as Prometheus's usual 15 s), so the scrapes' cost is
in the figures too; their time and size are reported.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import (
    ProcessSampler,
    Server,
    Wallet,
    idle_percent,
    serve,
    sign_in_and_join,
    summary_ms,
    write_json,
)
from benchws import BenchSocket, connect

ROOM_SIZE = 20
MOVE_HZ = 10
DRAIN_SECONDS = 1.0
SIGN_IN_CONCURRENCY = 50
PHASES = 100
PATH_START, PATH_WIDTH = 100, 500  # the zigzag each client walks, 1 unit per move
# Pushes a client notes the arrival of (scripts/bench_buddies.py: a buddy signing in and out).
NOTED = frozenset({"buddy_online", "buddy_offline"})
# Work beside the walkers (scripts/bench_buddies.py): started once they are all seated,
# told to stop by the event when the movement ends; what it returns lands in the figures.
Side = Callable[[Server, threading.Event], Any]


def path_point(
    k: int, origin: tuple[float, float] = (PATH_START, PATH_START)
) -> tuple[float, float]:
    """The k-th position of a client's path from `origin` (where it entered): unique, 1
    unit from the previous one, rightwards and down within a 500-unit-wide band."""
    row, step = divmod(k, PATH_WIDTH)
    x = origin[0] + (step if row % 2 == 0 else PATH_WIDTH - 1 - step)
    return x, origin[1] + row


class Player:
    """One client: its socket, its unacknowledged moves and what it has seen. Frames are
    handled as they are parsed (benchws), without a task per client."""

    def __init__(self, index: int, room: str, seed: bytes | None = None) -> None:
        self.index, self.room = index, room
        self.origin: tuple[float, float] = (PATH_START, PATH_START)
        self.wallet = Wallet(seed)
        self.noted: list[tuple[str, float]] = []  # (type, perf_counter) of NOTED pushes
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
        kind = frame.get("type")
        if kind == "moves":
            self._moves(frame["moves"], now)
        elif kind in NOTED:
            self.noted.append((kind, now))
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
        joined = await sign_in_and_join(self.request, self.wallet, self.room)
        self.player_id, self.room = joined["playerId"], joined["room"]  # the instance
        me = next(p for p in joined["players"] if p["playerId"] == self.player_id)
        self.origin = (me["x"], me["y"])
        return time.perf_counter() - started

    def move(self) -> None:
        assert self.socket is not None
        self.k += 1
        x, y = path_point(self.k, self.origin)
        self.pending.append((self.k, time.perf_counter()))
        self.sent += 1
        self.socket.send_text(b'{"type":"move","x":%r,"y":%r}' % (x, y))

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
        origin = self.origin
        target = next((k for k, _ in pending if path_point(k, origin) == (x, y)), None)
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
        "noted": [n for p in players for n in p.noted],
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


def _worker(port: int, specs: list[tuple[int, str, bytes | None]], args: dict[str, Any],
            start: Any, ready: Any, results: Any) -> None:  # fmt: skip
    os.nice(args["nice"])
    players = [Player(i, room, seed) for i, room, seed in specs]
    runner: Any = asyncio.run
    with contextlib.suppress(ImportError):  # uvloop comes with uvicorn[standard]
        import uvloop

        runner = uvloop.run
    results.put(runner(_run_worker(port, players, args, start, ready)))


@contextmanager
def rooms_file(n_rooms: int) -> Iterator[Path]:
    rooms = [
        {"id": f"bench_{i}", "name": f"Bench {i}", "width": 1520, "height": 960,
         "spawn": [PATH_START, PATH_START], "capacity": ROOM_SIZE, "speed": 600, "spread": 0}
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


@contextmanager
def world(
    n: int, town: bool, spare: int = 0
) -> Iterator[tuple[dict[str, str], list[tuple[int, str]]]]:
    """The server's environment and each client's room: `bench_<i>` rooms of 20 from a
    generated rooms file (and `spare` empty ones after them, for players other than the
    walkers), or (`town`) the built-in catalogue with ROOM_CAPACITY=20 and every client
    asking for `town`, so the server opens the instances."""
    if town:
        yield {"ROOM_CAPACITY": str(ROOM_SIZE)}, [(i, "town") for i in range(n)]
        return
    with rooms_file(math.ceil(n / ROOM_SIZE) + spare) as path:
        yield {"CLUBPENGU_ROOMS": str(path)}, [(i, f"bench_{i // ROOM_SIZE}") for i in range(n)]


class Scraper:
    """GET /metrics every `every` seconds (None: never) from the sampling loop."""

    def __init__(self, port: int, every: float | None) -> None:
        self.url = f"http://127.0.0.1:{port}/metrics"
        self.every = every
        self.last = time.monotonic()
        self.seconds: list[float] = []
        self.size = 0
        self.text = ""

    def poll(self) -> None:
        if self.every is None or time.monotonic() - self.last < self.every:
            return
        self.last = time.monotonic()
        started = time.perf_counter()
        with urllib.request.urlopen(self.url, timeout=10) as response:
            body = response.read()
        self.seconds.append(time.perf_counter() - started)
        self.size, self.text = len(body), body.decode()

    def figures(self) -> dict[str, Any]:
        if not self.seconds:
            return {}
        return {"scrapes": len(self.seconds), "scrape_ms": summary_ms(self.seconds),
                "scrape_bytes": self.size}  # fmt: skip


def run_once(
    n: int,
    duration: float,
    workers: int,
    nice: int = 10,
    town: bool = False,
    extra_env: dict[str, str] | None = None,
    scrape_every: float | None = None,
    seeds: dict[int, bytes] | None = None,
    prepare: Callable[[Server], None] | None = None,
    side: Side | None = None,
) -> dict[str, Any]:
    """One run. `seeds`: the wallets of some clients (by index), `prepare`: called once
    the server is up and before any client signs in, `side`: run in a thread while the
    clients move (scripts/bench_buddies.py)."""
    idle_before = idle_percent()
    if idle_before < 85:
        print(f"warning: the machine was only {idle_before} % idle before this run")
    context = mp.get_context("fork")
    spare = 1 if side is not None else 0
    with world(n, town, spare) as (env, rooms), serve(env | (extra_env or {})) as server:
        if prepare is not None:
            prepare(server)
        specs = [(i, room, (seeds or {}).get(i)) for i, room in rooms]
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
        side_result: list[Any] = []
        stop_side = threading.Event()
        side_thread = None
        if side is not None:
            side_thread = threading.Thread(
                target=lambda: side_result.append(side(server, stop_side)), daemon=True
            )
            side_thread.start()
        peak_rss = 0.0
        scraper = Scraper(server.port, scrape_every)
        deadline = time.monotonic() + duration
        while time.monotonic() < deadline:
            peak_rss = max(peak_rss, samplers["server"].rss_mb())
            scraper.poll()
            time.sleep(0.5)
        stop_side.set()
        if side_thread is not None:
            side_thread.join(60)
        cpu = {name: round(s.cpu_percent(), 1) for name, s in samplers.items()}
        cpu["load_generator"] = round(sum(g.cpu_percent() for g in generators), 1)
        rss = {name: round(s.rss_mb(), 1) for name, s in samplers.items()}
        parts = [results.get(timeout=120) for _ in procs]
        for proc in procs:
            proc.join(30)
    figures = aggregate(parts)
    figures |= {
        "n": n,
        "mode": "town" if town else "rooms",
        "rooms": len({room for part in parts for room in part["rooms"].values()}),
        "duration_s": duration,
        "workers": workers,
        "sign_in_wall_s": round(signing_wall, 1),
        "idle_before_percent": idle_before,
        "cpu_percent": cpu,
        "rss_mb": rss | {"server_peak": round(max(peak_rss, rss["server"]), 1)},
        "env": extra_env or {},
    }
    if side is not None:
        figures["side"] = side_result[0] if side_result else None
        figures["noted"] = [n for part in parts for n in part["noted"]]
    return figures | scraper.figures()


def report(f: dict[str, Any]) -> None:
    s, m = f["sign_in_join"], f["move_to_moves"]
    own = 100 * f["own_moves_delivered"] / max(1, f["own_moves_sent"])
    others = 100 * f["others_entries_seen"] / max(1, f["others_entries_expected"])
    where = "instances of town" if f["mode"] == "town" else "rooms"
    print(f"{f['n']} clients in {f['rooms']} {where} of {ROOM_SIZE}, {MOVE_HZ} moves/s each, "
          f"{f['duration_s']} s (CPUs {f['idle_before_percent']} % idle before)")  # fmt: skip
    print(f"  sign-in+join   p50 {s['p50']} ms  p99 {s['p99']} ms  (all {f['n']} seated in "
          f"{f['sign_in_wall_s']} s)")  # fmt: skip
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


FIGURES = {  # a run's headline figures, by name
    "seated_s": lambda f: f["sign_in_wall_s"],
    "join_p50_ms": lambda f: f["sign_in_join"]["p50"],
    "join_p99_ms": lambda f: f["sign_in_join"]["p99"],
    "p50_ms": lambda f: f["move_to_moves"]["p50"],
    "p95_ms": lambda f: f["move_to_moves"]["p95"],
    "p99_ms": lambda f: f["move_to_moves"]["p99"],
    "max_ms": lambda f: f["move_to_moves"]["max"],
    "server_cpu_percent": lambda f: f["cpu_percent"]["server"],
    "server_rss_mb": lambda f: f["rss_mb"]["server_peak"],
}


def medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The median of each headline figure over `--repeat` runs of one invocation (each
    run's own figures, and so its p99, are printed before), printed with every run's
    value and whether each run delivered everything."""
    result: dict[str, Any] = {}
    print(f"=== {len(runs)} runs: median (each run)")
    for name, pick in FIGURES.items():
        values = [pick(f) for f in runs]
        result[name] = round(statistics.median(values), 2)
        print(f"  {name:20} {result[name]:>9}  ({', '.join(str(v) for v in values)})")
    complete = [
        f["own_moves_delivered"] == f["own_moves_sent"]
        and f["others_entries_seen"] == f["others_entries_expected"]
        for f in runs
    ]
    result["runs_delivering_everything"] = sum(complete)
    print(f"  every move and room-mate entry delivered in {sum(complete)} of {len(runs)} runs")
    idle = [f["idle_before_percent"] for f in runs]
    print(f"  machine idle before each run: {idle} %")
    return result


def compare_metrics(args: argparse.Namespace, extra_env: dict[str, str]) -> dict[str, Any]:
    """The same run with METRICS_ENABLED=true and =false, alternating, `args.runs` each."""
    runs: dict[str, list[dict[str, Any]]] = {"on": [], "off": []}
    idle = []
    for i in range(2 * args.runs):
        mode = "on" if i % 2 == 0 else "off"
        env = extra_env | {"METRICS_ENABLED": "true" if mode == "on" else "false"}
        print(f"--- run {i + 1} of {2 * args.runs}: metrics {mode}")
        scrape = args.scrape_every if mode == "on" else None
        figures = run_once(args.n, args.duration, args.workers, town=args.town,
                           extra_env=env, scrape_every=scrape)  # fmt: skip
        report(figures)
        if "scrapes" in figures:
            sm = figures["scrape_ms"]
            print(f"  /metrics       {figures['scrapes']} scrapes, p50 {sm['p50']} ms, "
                  f"max {sm['max']} ms, {figures['scrape_bytes']} bytes")  # fmt: skip
        runs[mode].append(figures)
        idle.append(figures["idle_before_percent"])

    def mean(mode: str, pick: Any) -> float:
        return sum(pick(f) for f in runs[mode]) / len(runs[mode])

    measures = {name: FIGURES[name] for name in ("p50_ms", "p99_ms", "server_cpu_percent")} | {
        # Server CPU per move handled (its fan-out included): steadier than the latency
        # on a shared machine, where a run that gets less CPU also moves less.
        "server_cpu_us_per_move": lambda f: round(
            f["cpu_percent"]["server"] / 100 * f["duration_s"] / f["own_moves_sent"] * 1e6, 1
        ),
    }
    summary = {}
    print(f"=== metrics on vs off, {args.runs} runs each (mean; ratio on/off)")
    for name, pick in measures.items():
        on, off = mean("on", pick), mean("off", pick)
        ratio = on / off if off else float("nan")
        summary[name] = {"on": round(on, 2), "off": round(off, 2), "ratio": round(ratio, 3)}
        each = {mode: ", ".join(str(pick(f)) for f in runs[mode]) for mode in runs}
        print(f"  {name:20} on {on:8.2f} ({each['on']})  off {off:8.2f} ({each['off']})  "
              f"ratio {ratio:.3f}")  # fmt: skip
    print(f"  machine idle before each run (on, off, ...): {idle} %")
    return {"runs": runs, "summary": summary, "idle_before_percent": idle}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="clients")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of movement")
    parser.add_argument("--workers", type=int, default=1, help="load generator processes")
    parser.add_argument("--find-max", action="store_true", help="step N up until p99 > 150 ms")
    parser.add_argument("--step", type=int, default=250, help="--find-max: N increment")
    parser.add_argument(
        "--town", action="store_true",
        help="every client asks for `town` (ROOM_CAPACITY=20): the server opens the instances",
    )  # fmt: skip
    parser.add_argument("--env", action="append", default=[], metavar="VAR=VALUE",
                        help="a server setting for every run (repeatable)")  # fmt: skip
    parser.add_argument("--compare-metrics", action="store_true",
                        help="alternate METRICS_ENABLED=true and =false, --runs each")  # fmt: skip
    parser.add_argument("--repeat", type=int, default=1,
                        help="run the scenario this many times and print the medians")  # fmt: skip
    parser.add_argument("--runs", type=int, default=2, help="--compare-metrics: runs per mode")
    parser.add_argument("--scrape-every", type=float, default=5.0,
                        help="--compare-metrics: seconds between /metrics scrapes")  # fmt: skip
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    extra_env = dict(item.split("=", 1) for item in args.env)
    if args.compare_metrics:
        result = compare_metrics(args, extra_env)
        write_json(args.json, result | {"args": vars(args) | {"json": str(args.json)}})
        return
    if not args.find_max:
        runs = []
        for i in range(args.repeat):
            if args.repeat > 1:
                print(f"--- run {i + 1} of {args.repeat}")
            figures = run_once(args.n, args.duration, args.workers, town=args.town,
                               extra_env=extra_env)  # fmt: skip
            report(figures)
            runs.append(figures)
        result = runs[0] if len(runs) == 1 else {"runs": runs, "median": medians(runs)}
        write_json(args.json, result | {"args": vars(args) | {"json": str(args.json)}})
        return
    steps, n = [], args.n
    while True:
        figures = run_once(n, args.duration, args.workers, town=args.town, extra_env=extra_env)
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
