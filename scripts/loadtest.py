#!/usr/bin/env python3
"""Load test (seed 000, Testing Strategy §3): at once, N signed-in clients moving at 10 Hz
and chatting in rooms, M concurrent wagered matches played over and over, and stats
batching on, against `clubpengu serve` on the embedded database, for a while.

    .venv/bin/python scripts/loadtest.py                      # 1,000 clients, 100 matches, 5 min
    .venv/bin/python scripts/loadtest.py --duration 60s       # a shorter run
    .venv/bin/python scripts/loadtest.py --soak 30m           # the soak: RSS slope after warm-up

Prints what the realtime and match benchmarks print (sign-in+join, move -> `moves`
latency, delivery; `match_move` and settling-move latency, matches played), chat
delivery, sign-in failures, the database's command latency percentiles from the server's
own `/metrics` (the MongoDB command histogram, over the run), server and database CPU and
RSS over time, and at the end runs `clubpengu ledger verify` on the data.

Movers walk as in scripts/bench_realtime.py (each its own zigzag of unique points, so each
client measures its own moves) and each says something every `--chat-every` seconds; they
ask for the catalogue's rooms in turn with ROOM_CAPACITY=20, so the server opens room
instances as they fill. Match players (2M more clients, signed in too) pair up in the
game rooms, are granted coins through the ledger, and play tic-tac-toe with a wager,
thinking 0.5-1.5 x `--think` seconds before each move, for the whole run. Movers and match
players are two load-generator processes (at `nice 10`, as the benchmarks run theirs).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing as mp
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_realtime import DRAIN_SECONDS, MOVE_HZ, SIGN_IN_CONCURRENCY, Player, _move_phase
from benchlib import (
    JsonClient,
    ProcessSampler,
    Wallet,
    idle_percent,
    serve,
    sign_in,
    summary_ms,
    write_json,
)

ROOMS = ["town", "plaza", "coffee_shop", "dock", "beach", "ski_village", "pizza_parlor",
         "snow_forts", "iceberg", "night_club"]  # fmt: skip
GAME_ROOMS = ["dojo", "game_lounge"]
WAGER = 5
WIN_FOR_SEAT_0 = [0, 3, 1, 4, 2]
DB_METRIC = "clubpengu_mongodb_command_duration_seconds"
REPLY_TIMEOUT = 60.0  # a reply or push slower than this counts as an error, never a hang


def parse_duration(text: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    for unit in ("ms", "s", "m", "h"):
        if text.endswith(unit) and text[: -len(unit)].replace(".", "", 1).isdigit():
            return float(text[: -len(unit)]) * units[unit]
    return float(text)


# --- movers ------------------------------------------------------------------------------


class Mover(Player):
    """A benchmark player that also chats; counts the chat lines it hears, by speaker."""

    def __init__(self, index: int, room: str) -> None:
        super().__init__(index, room)
        self.said = 0
        self.heard: dict[str, int] = defaultdict(int)

    def on_text(self, payload: bytes) -> None:
        if payload.startswith(b'{"type":"chat"'):
            self.heard[orjson.loads(payload)["playerId"]] += 1
            return
        super().on_text(payload)

    def chat(self) -> None:
        assert self.socket is not None
        self.said += 1
        self.socket.send_text(b'{"type":"chat","text":"hello %d"}' % self.said)


async def _chat_phase(movers: list[Mover], duration: float, every: float) -> None:
    """Each mover says something every `every` seconds, spread evenly over the period."""
    loop = asyncio.get_running_loop()
    started, step, k = loop.time(), every / max(1, len(movers)), 0
    while loop.time() - started < duration - 1.0:
        await asyncio.sleep(max(0.0, started + k * step - loop.time()))
        movers[k % len(movers)].chat()
        k += 1


async def _run_movers(port: int, n: int, args: dict[str, Any], start: Any, ready: Any) -> Any:
    movers = [Mover(i, ROOMS[i % len(ROOMS)]) for i in range(n)]
    gate = asyncio.Semaphore(SIGN_IN_CONCURRENCY)

    async def enter(mover: Mover) -> float | None:
        async with gate:
            try:
                return await mover.enter("127.0.0.1", port)
            except Exception:
                return None

    sign_ins = await asyncio.gather(*(enter(m) for m in movers))
    signed = [m for m, took in zip(movers, sign_ins, strict=True) if took is not None]
    ready.put(("movers", os.getpid()))
    await asyncio.to_thread(start.wait)
    await asyncio.gather(
        _move_phase(signed, args["duration"]),
        _chat_phase(signed, args["duration"], args["chat_every"]),
    )
    await asyncio.sleep(DRAIN_SECONDS)
    result = _mover_figures(signed, [s for s in sign_ins if s is not None], n - len(signed))
    await asyncio.gather(*(m.close() for m in signed))
    return result


def _mover_figures(movers: list[Mover], sign_ins: list[float], failed: int) -> dict[str, Any]:
    by_room: dict[str, list[Mover]] = defaultdict(list)
    for mover in movers:
        by_room[mover.room].append(mover)
    own = {m.player_id: m.own_entries for m in movers}
    chats_expected = chats_heard = others_expected = others_seen = 0
    for mates in by_room.values():
        for listener in mates:
            for speaker in mates:
                chats_expected += speaker.said
                chats_heard += listener.heard.get(speaker.player_id, 0)
                if speaker is not listener:
                    others_expected += own[speaker.player_id]
                    others_seen += listener.others.get(speaker.player_id, 0)
    sent = sum(m.sent for m in movers)
    return {
        "sign_in_join": summary_ms(sign_ins),
        "sign_in_failures": failed,
        "move_to_moves": summary_ms([s for m in movers for s in m.latencies]),
        "own_moves_sent": sent,
        "own_moves_delivered": sent - sum(len(m.pending) for m in movers),
        "others_entries_expected": others_expected,
        "others_entries_seen": others_seen,
        "chats_sent": sum(m.said for m in movers),
        "chat_lines_expected": chats_expected,
        "chat_lines_heard": chats_heard,
        "rooms": len(by_room),
    }


# --- match players -----------------------------------------------------------------------


class SignInFailed(Exception):
    pass


async def _seat(url: str, wallet: Wallet, room: str) -> tuple[JsonClient, dict[str, Any]]:
    try:
        ws = await websockets.connect(url, max_queue=None)
        seat = JsonClient(ws, REPLY_TIMEOUT)
        signed = await sign_in(seat.call, wallet)
    except Exception as error:
        raise SignInFailed(_why(error)) from error
    if signed["type"] != "auth_success":
        raise SignInFailed(str(signed))
    joined = await seat.call({"type": "join", "room": room})
    assert joined["type"] == "joined", joined
    return seat, joined


async def _pair_up(url: str, i: int) -> tuple[JsonClient, JsonClient, str, list[Wallet]]:
    """Two players in the same instance of a game room. Both ask for the catalogue room;
    when the server seats them apart (an instance filled up between the two joins, as
    other pairs arrive at the same time), the second follows the first by instance id
    (`dojo~1` for the first instance). If that one is full by then, the first leaves and
    asks for the room again (a seat somewhere, or a new instance) and the second follows."""
    wallets = [Wallet(), Wallet()]
    room = GAME_ROOMS[i % len(GAME_ROOMS)]
    a, in_a = await _seat(url, wallets[0], room)
    b, in_b = await _seat(url, wallets[1], room)
    for _ in range(10):
        if in_b["room"] == in_a["room"]:
            return a, b, in_b["playerId"], wallets
        exactly = in_a["room"] if "~" in in_a["room"] else in_a["room"] + "~1"
        moved = await b.call({"type": "change_room", "room": exactly})
        if moved["type"] == "joined":
            in_b = moved
            continue
        if moved.get("code") != "room_full":
            raise RuntimeError(f"change_room refused: {moved}")
        await a.call({"type": "change_room", "room": "plaza"})
        in_a = await a.call({"type": "change_room", "room": room})
        if in_a["type"] != "joined":
            raise RuntimeError(f"change_room refused: {in_a}")
    raise RuntimeError("could not seat a pair together")


async def _play_one(
    a: JsonClient, b: JsonClient, target: str, think: float, f: dict[str, Any]
) -> None:
    sent = await a.call({"type": "challenge", "targetPlayerId": target, "game": "tictactoe",
                         "wager": WAGER})  # fmt: skip
    assert sent["type"] == "challenge_sent", sent
    await b.wait("challenge")
    start = await b.call({"type": "challenge_accept", "challengeId": sent["challengeId"]})
    assert start["type"] == "match_start", start
    await a.wait("match_start")
    seats = {start["seat"]: b, 1 - start["seat"]: a}
    for turn, cell in enumerate(WIN_FOR_SEAT_0):
        await asyncio.sleep(random.uniform(0.5, 1.5) * think)
        began = time.perf_counter()
        reply = await seats[turn % 2].call(
            {"type": "match_move", "matchId": start["matchId"], "move": {"cell": cell}}
        )
        assert reply["type"] == "match_state", reply
        last = turn == len(WIN_FOR_SEAT_0) - 1
        f["settles" if last else "moves"].append(time.perf_counter() - began)
    for seat in (a, b):
        await seat.wait("match_end")
    f["matches"] += 1


async def _run_matches(
    port: int, uri: str, pairs: int, args: dict[str, Any], start: Any, ready: Any
) -> Any:
    url = f"ws://127.0.0.1:{port}/ws"
    gate = asyncio.Semaphore(SIGN_IN_CONCURRENCY // 2)

    failures: dict[str, int] = defaultdict(int)

    async def pair_up(i: int) -> Any:
        async with gate:
            try:
                return await _pair_up(url, i)
            except Exception as error:
                failures[_why(error)] += 1
                return None

    seated = [p for p in await asyncio.gather(*(pair_up(i) for i in range(pairs))) if p]
    wallets = [w.address for p in seated for w in p[3]]
    # enough for a match every 10 s over the run, granted through the ledger
    await _grant(uri, wallets, WAGER * (int(args["duration"] / 10) + 5))
    ready.put(("matches", os.getpid()))
    await asyncio.to_thread(start.wait)
    f: dict[str, Any] = {"moves": [], "settles": [], "matches": 0, "errors": 0}
    deadline = time.monotonic() + args["duration"]

    async def keep_playing(a: JsonClient, b: JsonClient, target: str) -> None:
        while time.monotonic() < deadline - 5 * args["think"]:
            try:
                await _play_one(a, b, target, args["think"], f)
            except Exception as error:
                f["errors"] += 1
                failures[_why(error)] += 1
                return

    await asyncio.gather(*(keep_playing(a, b, t) for a, b, t, _ in seated))
    for a, b, _, _ in seated:
        await a.ws.close()
        await b.ws.close()
    return {
        "pairs": len(seated),
        "sign_in_failures": sum(n for why, n in failures.items() if why.startswith("SignInFailed")),
        "unpaired": pairs - len(seated),
        "matches": f["matches"],
        "match_errors": f["errors"],
        "errors_by_kind": dict(failures),
        "match_move": summary_ms(f["moves"]),
        "settling_move": summary_ms(f["settles"]),
    }


def _why(error: BaseException) -> str:
    return f"{type(error).__name__}: {str(error)[:120]}"


async def _grant(uri: str, addresses: list[str], coins: int) -> None:
    from pymongo import AsyncMongoClient

    from clubpengu.services.economy import EconomyService

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, tz_aware=True)
    economy = EconomyService(client, "clubpengu")
    await asyncio.gather(*(
        economy.apply(a, coins, "admin_adjustment", idempotency_key=f"load:{a}", reason="load")
        for a in addresses
    ))  # fmt: skip
    await client.close()


def _process(kind: str, *args: Any) -> None:
    results = args[-1]
    os.nice(next(a for a in args if isinstance(a, dict))["nice"])
    runner: Any = asyncio.run
    with contextlib.suppress(ImportError):
        import uvloop

        runner = uvloop.run
    work = _run_movers(*args[:-1]) if kind == "movers" else _run_matches(*args[:-1])
    results.put((kind, runner(work)))


# --- the database's latency, from the server's own metrics --------------------------------


def scrape(url: str) -> dict[float, float]:
    """Cumulative counts of the MongoDB command histogram by upper bound, all commands."""
    try:
        with urllib.request.urlopen(url + "/metrics", timeout=10) as response:
            text = response.read().decode()
    except OSError as error:  # metrics off (METRICS_ENABLED=false) or unreachable
        print(f"warning: no /metrics from the server: {error}")
        return {}
    buckets: dict[float, float] = defaultdict(float)
    for line in text.splitlines():
        if line.startswith(DB_METRIC + "_bucket{"):
            labels, value = line.rsplit(" ", 1)
            bound = labels.split('le="', 1)[1].split('"', 1)[0]
            buckets[float("inf") if bound == "+Inf" else float(bound)] += float(value)
    return buckets


def quantiles(before: dict[float, float], after: dict[float, float]) -> dict[str, Any]:
    """p50/p95/p99 (ms) of the commands between two scrapes, interpolated in buckets."""
    if not after:
        return {"commands": "unknown: the server exported no /metrics"}
    bounds = sorted(after)
    counts = [after[b] - before.get(b, 0.0) for b in bounds]
    total = counts[-1] if counts else 0.0
    out: dict[str, Any] = {"commands": int(total)}
    for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
        rank, lower, below = q * total, 0.0, 0.0
        for bound, cumulative in zip(bounds, counts, strict=True):
            if cumulative >= rank and total:
                if bound == float("inf"):
                    out[name] = f">{lower * 1000:g}"
                else:
                    share = (rank - below) / max(cumulative - below, 1e-9)
                    out[name] = round((lower + (bound - lower) * share) * 1000, 2)
                break
            lower, below = bound, cumulative
    return out


# --- the run ---------------------------------------------------------------------------------


def rss_slope(series: list[dict[str, float]], warmup: float) -> float | None:
    """MB per hour of the server's RSS after `warmup` seconds (least squares)."""
    points = [(s["t"], s["server_rss_mb"]) for s in series if s["t"] >= warmup]
    if len(points) < 3:
        return None
    mean_t = sum(t for t, _ in points) / len(points)
    mean_r = sum(r for _, r in points) / len(points)
    num = sum((t - mean_t) * (r - mean_r) for t, r in points)
    den = sum((t - mean_t) ** 2 for t, _ in points) or 1.0
    return round(num / den * 3600, 2)


def run(args: argparse.Namespace) -> dict[str, Any]:
    from clubpengu.db import EmbeddedDatabase

    duration = args.duration
    context = mp.get_context("fork")
    with tempfile.TemporaryDirectory() as tmp:
        database = EmbeddedDatabase(Path(tmp) / "db")
        uri = database.start()
        try:
            env = {"MONGODB_URI": uri, "ROOM_CAPACITY": "20", "DAILY_BONUS_COINS": "0",
                   "CHALLENGE_TTL": "5m", "STATS_BATCHING": "true"}  # fmt: skip
            with serve(env) as server:
                assert database.process is not None
                figures = _drive(server, uri, database.process.pid, args, duration, context)
            verify = subprocess.run(
                [str(Path(sys.executable).with_name("clubpengu")), "ledger", "verify"],
                capture_output=True, text=True, env=os.environ | {"MONGODB_URI": uri},
            )  # fmt: skip
        finally:
            database.stop()
    figures["ledger_verify"] = "clean" if verify.returncode == 0 else verify.stdout[-800:]
    return figures


def _drive(server: Any, uri: str, db_pid: int, args: argparse.Namespace, duration: float,
           context: Any) -> dict[str, Any]:  # fmt: skip
    start, ready, results = context.Event(), context.Queue(), context.Queue()
    shared = {"duration": duration, "chat_every": args.chat_every, "think": args.think,
              "nice": args.nice}  # fmt: skip
    procs = [
        context.Process(target=_process, args=("movers", server.port, args.clients, shared,
                                                start, ready, results)),
        context.Process(target=_process, args=("matches", server.port, uri, args.matches,
                                                shared, start, ready, results)),
    ]  # fmt: skip
    signing = time.perf_counter()
    for proc in procs:
        proc.start()
    pids = dict(ready.get(timeout=900) for _ in procs)
    figures: dict[str, Any] = {"sign_in_wall_s": round(time.perf_counter() - signing, 1)}
    samplers = {"server": ProcessSampler(server.process.pid), "database": ProcessSampler(db_pid)}
    samplers |= {f"load_{k}": ProcessSampler(v) for k, v in pids.items()}
    before = scrape(server.url)
    series = _sample(samplers, start, duration, args.sample)
    after = scrape(server.url)
    # over the measured window, before the load processes finish and exit
    cpu = {k: round(s.cpu_percent(), 1) for k, s in samplers.items()}
    parts = dict(results.get(timeout=300) for _ in procs)
    for proc in procs:
        proc.join(30)
    figures |= {"movers": parts["movers"], "matches": parts["matches"],
                "db_latency_ms": quantiles(before, after), "series": series}  # fmt: skip
    figures["cpu_percent"] = cpu
    return figures


def _sample(samplers: dict[str, ProcessSampler], start: Any, duration: float,
            every: float) -> list[dict[str, float]]:  # fmt: skip
    for sampler in samplers.values():
        sampler.start()
    start.set()
    began = time.monotonic()
    series: list[dict[str, float]] = []
    last_cpu = {k: s.cpu_seconds() for k, s in samplers.items()}
    last_t = began
    while (now := time.monotonic()) - began < duration:
        time.sleep(min(every, max(0.0, duration - (now - began))))
        t = time.monotonic()
        cpu = {k: s.cpu_seconds() for k, s in samplers.items()}
        series.append({
            "t": round(t - began, 1),
            "server_cpu": round(100 * (cpu["server"] - last_cpu["server"]) / (t - last_t), 1),
            "database_cpu": round(100 * (cpu["database"] - last_cpu["database"]) / (t - last_t), 1),
            "server_rss_mb": round(samplers["server"].rss_mb(), 1),
        })  # fmt: skip
        last_cpu, last_t = cpu, t
    return series


def report(f: dict[str, Any], args: argparse.Namespace) -> None:
    m, x = f["movers"], f["matches"]
    print(f"load test: {args.clients} movers + {2 * args.matches} match players, "
          f"{f['duration_s']:g} s (CPUs {f['idle_before_percent']} % idle before)")  # fmt: skip
    s = m["sign_in_join"]
    print(f"  sign-in        failures {m['sign_in_failures'] + x['sign_in_failures']}; "
          f"movers p50 {s.get('p50')} ms p99 {s.get('p99')} ms (all seated in "
          f"{f['sign_in_wall_s']} s, {m['rooms']} room instances)")  # fmt: skip
    mv = m["move_to_moves"]
    expected = (args.clients - m["sign_in_failures"]) * MOVE_HZ * f["duration_s"]
    print(f"  movers sent    {m['own_moves_sent']} moves, "
          f"{100 * m['own_moves_sent'] / max(expected, 1):.1f} % of {MOVE_HZ}/s each "
          "(less: the load generator could not keep up)")  # fmt: skip
    print(f"  move->moves    p50 {mv.get('p50')} ms  p95 {mv.get('p95')} ms  "
          f"p99 {mv.get('p99')} ms  max {mv.get('max')} ms")  # fmt: skip
    lost = (m["own_moves_sent"] - m["own_moves_delivered"],
            m["others_entries_expected"] - m["others_entries_seen"],
            m["chat_lines_expected"] - m["chat_lines_heard"])  # fmt: skip
    print(f"  delivered      own moves {m['own_moves_delivered']}/{m['own_moves_sent']}, "
          f"room-mates' entries {m['others_entries_seen']}/{m['others_entries_expected']}, "
          f"chat lines {m['chat_lines_heard']}/{m['chat_lines_expected']} "
          f"({m['chats_sent']} said): {sum(lost)} lost")  # fmt: skip
    mm, st = x["match_move"], x["settling_move"]
    print(f"  matches        {x['matches']} played by {x['pairs']} pairs "
          f"({x['unpaired']} could not be paired), "
          f"{x['match_errors']} errors; match_move p50 {mm.get('p50')} ms "
          f"p99 {mm.get('p99')} ms; settling move p99 {st.get('p99')} ms")  # fmt: skip
    for kind, count in x["errors_by_kind"].items():
        print(f"    error x{count}: {kind}")
    print(f"  database       commands {f['db_latency_ms']} (from /metrics)")
    print(f"  CPU % of a core over the run: {f['cpu_percent']}")
    print("  t (s)  server CPU %  database CPU %  server RSS (MB)")
    step = max(1, len(f["series"]) // 12)
    for row in f["series"][::step]:
        print(f"  {row['t']:>5}  {row['server_cpu']:>12}  {row['database_cpu']:>14}  "
              f"{row['server_rss_mb']:>15}")  # fmt: skip
    if f.get("rss_slope_mb_per_hour") is not None:
        print(f"  RSS slope after {f['warmup_s']:g} s of warm-up: "
              f"{f['rss_slope_mb_per_hour']} MB/hour")  # fmt: skip
    print(f"  ledger verify: {f['ledger_verify']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000, help="moving, chatting clients")
    parser.add_argument("--matches", type=int, default=100, help="concurrent matches")
    parser.add_argument("--duration", type=parse_duration, default=300.0, help="e.g. 90s, 5m")
    parser.add_argument("--soak", type=parse_duration, help="soak for this long (e.g. 30m)")
    parser.add_argument("--think", type=float, default=2.0, help="mean seconds per match move")
    parser.add_argument("--chat-every", type=float, default=20.0, help="seconds per chat line")
    parser.add_argument("--sample", type=float, default=5.0, help="seconds between samples")
    parser.add_argument("--nice", type=int, default=10, help="the load generators' niceness")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.soak:
        args.duration = args.soak
    idle = idle_percent()
    if idle < 85:
        print(f"warning: the machine was only {idle} % idle before this run")
    figures = run(args)
    figures |= {"duration_s": args.duration, "idle_before_percent": idle}
    if args.soak:
        warmup = max(60.0, 0.1 * args.duration)
        figures |= {
            "warmup_s": warmup,
            "rss_slope_mb_per_hour": rss_slope(figures["series"], warmup),
        }
    report(figures, args)
    write_json(args.json, figures | {"args": {k: str(v) for k, v in vars(args).items()}})


if __name__ == "__main__":
    main()
