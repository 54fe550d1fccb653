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

`--computer`: N (default 200) players each play matches against the computer back to back
(the three games in turn, `--level`, default normal; random legal moves after a think of
0.5-1.5 `--think` s) for `--duration` seconds, while `--walkers` (1,000) clients walk at
10 Hz in rooms of 20: bench_realtime.py's walkers, in their own processes. Prints
`match_move` (send to reply, while the walkers walk; `match_move_after`: the moves that
finish the matches in play once the time is up, beside the walkers' 1,000 leaves),
`computer_move` (our reply to the computer's answer, when the match waited for it), the
walkers' move -> `moves` latency, the database's CPU per match played (steadier than
a latency on a machine whose speed varies), and each phase's CPU budget: the server, the
database, the computer's workers, the walkers' and players' load generators (which share
these cores), and how busy the whole machine was; first (unless `--no-baseline`) the walkers
alone for the same time, so the two p99s compare. Then `clubpengu ledger verify` on the
server's database.

    .venv/bin/python scripts/bench_matches.py --computer
    .venv/bin/python scripts/bench_matches.py --computer --n 200 --level hard --duration 30
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
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
    MachineSampler,
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


# --- against the computer, beside walkers ---------------------------------------------

COMPUTER_GAMES = ("tictactoe", "connect_four", "card_jitsu")
MATCH_FRAMES = ("match_start", "match_state", "match_end")


@dataclass
class ComputerPhase:
    think: float
    moves: list[float] = field(default_factory=list)
    # Moves made once the phase's time was up: the walkers' 1,000 sockets all closed
    # within a moment while the matches in play were finished.
    moves_after: list[float] = field(default_factory=list)
    until: float = float("inf")
    answers: list[float] = field(default_factory=list)
    matches: int = 0
    rewards: int = 0
    unavailable: int = 0  # starts answered `unavailable`, sent again
    moves_unavailable: int = 0  # moves answered `unavailable`: the match is given up
    moves_too_late: int = 0  # moves answered `conflict`: the match had ended (timed out)


async def next_match_frame(client: JsonClient, seq: int) -> dict[str, Any]:
    """The next `match_state`/`match_end` newer than `seq` (held frames first)."""
    while True:
        for i, frame in enumerate(client.held):
            if frame.get("type") in MATCH_FRAMES[1:]:
                client.held.pop(i)
                if frame["seq"] > seq or frame["type"] == "match_end":
                    return frame
                break
        else:
            async with asyncio.timeout(client.timeout):
                frame = json.loads(await client.ws.recv())
            if frame.get("type") in MATCH_FRAMES[1:] and (
                frame["seq"] > seq or frame["type"] == "match_end"
            ):
                return frame


def my_turn(frame: dict[str, Any]) -> bool:
    view = frame["view"]
    return (
        frame["status"] == "active"
        and view["seat"] in frame["toMove"]
        and (view.get("pick") is None)
    )


def random_move(game_id: str, view: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    if game_id == "card_jitsu":
        return {"cardId": rng.choice(view["hand"])["id"]}
    from clubpengu.games import get_game

    return rng.choice(get_game(game_id).legal_moves(view, view["seat"]))


async def play_computer(
    client: JsonClient, game_id: str, level: str, phase: ComputerPhase, rng: random.Random
) -> None:
    challenge = {"type": "challenge", "opponent": "computer", "game": game_id, "level": level}
    frame = await client.call(challenge)
    # The database too slow for the start (`unavailable`), or a match given up after an
    # unavailable move not settled yet (`conflict`): again, a second later.
    while frame.get("code") in ("unavailable", "conflict"):
        phase.unavailable += frame["code"] == "unavailable"
        await asyncio.sleep(1.0)
        frame = await client.call(challenge)
    assert frame["type"] == "match_start", frame
    while frame["type"] != "match_end" and frame["status"] == "active":
        if not my_turn(frame):
            frame = await next_match_frame(client, frame["seq"])
            continue
        if phase.think:
            await asyncio.sleep(rng.uniform(0.5, 1.5) * phase.think)
        began = time.perf_counter()
        reply = await client.call(
            {"type": "match_move", "matchId": frame["matchId"],
             "move": random_move(game_id, frame["view"], rng)}
        )  # fmt: skip
        answered = time.perf_counter()
        if reply.get("code") == "unavailable":
            # Not acknowledged, and whether it was applied is not known: this player gives
            # the match up (counted) and starts the next one.
            phase.moves_unavailable += 1
            await client.call({"type": "match_forfeit", "matchId": frame["matchId"]})
            return
        if reply.get("code") == "conflict":  # the match ended meanwhile (its turn timer)
            phase.moves_too_late += 1
            return
        assert reply["type"] in MATCH_FRAMES[1:], reply
        (phase.moves if answered < phase.until else phase.moves_after).append(answered - began)
        frame = reply
        if frame["status"] == "active" and not my_turn(frame):
            frame = await next_match_frame(client, frame["seq"])
            phase.answers.append(time.perf_counter() - answered)
    if frame["type"] != "match_end":
        frame = await next_match_frame(client, frame["seq"])
    phase.matches += 1
    phase.rewards += int(frame.get("reward") or 0)


async def computer_matches(
    url: str, rooms: list[str], args: argparse.Namespace, signed: Any, start: Any
) -> ComputerPhase:
    """Sign in a player per room given, set `signed`, wait for `start`, then each plays
    matches against the computer until `args.duration` has passed (the match in play is
    finished)."""
    gate = asyncio.Semaphore(50)

    async def enter(room: str) -> JsonClient:
        async with gate:
            return (await sign_in(url, Wallet(), room))[0]

    players = await asyncio.gather(*(enter(room) for room in rooms))
    signed.set()
    await asyncio.to_thread(start.wait)
    phase = ComputerPhase(args.think)
    until = phase.until = time.perf_counter() + args.duration

    async def player(i: int, client: JsonClient) -> None:
        rng = random.Random(i)
        played = i
        while time.perf_counter() < until:
            game = COMPUTER_GAMES[played % len(COMPUTER_GAMES)]
            await play_computer(client, game, args.level, phase, rng)
            played += 1

    await asyncio.gather(*(player(i, c) for i, c in enumerate(players)))
    for client in players:
        await client.ws.close()
    return phase


def computer_players(
    url: str, rooms: list[str], args: argparse.Namespace, signed: Any, start: Any, out: Any
) -> None:
    """The players against the computer, in a process of their own at the walkers'
    priority (they are load, not the server)."""
    os.nice(10)
    out.put(asyncio.run(computer_matches(url, rooms, args, signed, start)))


def server_children(pid: int, database: int) -> list[int]:
    """The server's child processes but the database: its computer workers (and, idle,
    the multiprocessing resource tracker)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split()
        found += [int(c) for c in children if int(c) != database]
    return found


class FlushCounter:
    """The database process's journal flushes (fsync + fdatasync calls) between `start()`
    and `stop()`, counted by `perf stat` on its syscall tracepoints (no ptrace stop per
    call, so the database runs at its usual speed); None without perf or its permission."""

    EVENTS = "syscalls:sys_enter_fsync,syscalls:sys_enter_fdatasync"

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.out = Path(tempfile.mkstemp(suffix=".perf")[1])
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = ["perf", "stat", "-x", ",", "-e", self.EVENTS, "-o", str(self.out)]
        try:
            self.process = subprocess.Popen(
                [*command, "-p", str(self.pid)], stderr=subprocess.DEVNULL
            )
        except OSError:
            self.process = None

    def stop(self) -> int | None:
        if self.process is None:
            return None
        self.process.send_signal(signal.SIGINT)
        self.process.wait(10)
        counts = [
            line.split(",")[0] for line in self.out.read_text().splitlines() if "sys_enter" in line
        ]
        self.out.unlink()
        if len(counts) != 2 or not all(c.isdigit() for c in counts):
            return None
        return sum(int(c) for c in counts)


def written(server: Any) -> dict[str, int]:
    """Moves in the database (every match's `seq`) and journal barrier writes so far: what
    the run asked of the journal, whatever the machine's load."""
    from pymongo import MongoClient

    port = int((server.data_dir / "secantusd.port").read_text())
    client: MongoClient[dict[str, Any]]
    with MongoClient(f"mongodb://127.0.0.1:{port}/?directConnection=true") as client:
        database = client["clubpengu"]
        moves = sum(m.get("seq", 0) for m in database.matches.find({}, {"seq": 1}))
        matches = database.matches.count_documents({})
        barrier = database.journal_barrier.find_one({"_id": "barrier"}) or {}
        # Every request the database served (the driver's monitoring included): the
        # currency of a one-process database.
        requests = int(client.admin.command("serverStatus")["network"]["numRequests"])
    return {
        "moves": moves, "matches": matches, "barrier_writes": int(barrier.get("writes", 0)),
        "requests": requests,
    }  # fmt: skip


def walkers_phase(
    server: Any, walker_specs: list[tuple[int, str]], args: argparse.Namespace,
    match_rooms: list[str],
) -> dict[str, Any]:  # fmt: skip
    """bench_realtime's walkers for `args.duration` s; with `match_rooms`, a player per room
    playing the computer at the same time. The walkers' and the matches' figures."""
    import multiprocessing as mp

    import bench_realtime

    context = mp.get_context("fork")
    start, ready, results = context.Event(), context.Queue(), context.Queue()
    walk_args = {"duration": args.duration, "nice": 10}
    workers = args.walker_workers if walker_specs else 0
    # bench_realtime's workers take (index, room, wallet seed); these walkers are new wallets.
    specs = [(index, room, None) for index, room in walker_specs]
    shares = [specs[w::workers] for w in range(workers)]
    procs = [
        context.Process(
            target=bench_realtime._worker,
            args=(server.port, share, walk_args, start, ready, results),
        )
        for share in shares
    ]
    for proc in procs:
        proc.start()
    for _ in procs:
        ready.get(timeout=600)
    database = server.database_pid()
    samplers = {"server": ProcessSampler(server.process.pid), "database": ProcessSampler(database)}
    # Every process's CPU and the machine's busy share are taken over the walkers' time
    # (go to their results): "beside the walkers". The load generators share these cores.
    loads = {"walkers_load": [ProcessSampler(proc.pid) for proc in procs if proc.pid]}
    if not procs:
        loads.clear()
    machine = MachineSampler()
    began: list[float] = []
    flushes = FlushCounter(database)
    before = written(server)

    def go() -> None:
        for sampler in [*samplers.values(), *(s for group in loads.values() for s in group)]:
            sampler.start()
        machine.start()
        flushes.start()
        began.append(time.monotonic())
        start.set()

    phase: ComputerPhase | None = None
    players = None
    if match_rooms:
        signed, played = context.Event(), context.Queue()
        players = context.Process(
            target=computer_players,
            args=(server.ws_url, match_rooms, args, signed, start, played),
        )
        players.start()
        if players.pid:
            loads["players_load"] = [ProcessSampler(players.pid)]
        signed.wait(600)
    go()
    parts = [results.get(timeout=600) for _ in procs]
    budget = _budget(server, samplers, loads, machine, began[0], match_rooms) if procs else None
    for proc in procs:
        proc.join(30)
    if players is not None:
        phase = played.get(timeout=600)
        # No walkers: the players' time is the phase.
        budget = budget or _budget(server, samplers, loads, machine, began[0], match_rooms)
        players.join(30)
    assert budget is not None
    cpu, busy = budget
    started = samplers["database"].started
    assert started is not None
    database_seconds = samplers["database"].cpu_seconds() - started[1]
    fsyncs = flushes.stop()
    after = written(server)
    journal = {name: after[name] - before[name] for name in after} | {"fsyncs": fsyncs}
    walkers = bench_realtime.aggregate(parts)
    figures: dict[str, Any] = {
        "walkers": walkers["move_to_moves"], "cpu_percent": cpu, "journal": journal,
        "machine": {"cores": machine.cores, "busy_percent": busy},
    }  # fmt: skip
    if phase is not None:
        figures |= {
            "matches": phase.matches, "think_s": phase.think,
            "match_move": summary_ms(phase.moves), "computer_move": summary_ms(phase.answers),
            "match_move_after": summary_ms(phase.moves_after),
            "database_ms_per_match": round(1000 * database_seconds / max(phase.matches, 1), 2),
            "reward_coins": phase.rewards, "starts_unavailable": phase.unavailable,
            "moves_unavailable": phase.moves_unavailable, "moves_too_late": phase.moves_too_late,
        }  # fmt: skip
    return figures


def _budget(
    server: Any, samplers: dict[str, ProcessSampler], loads: dict[str, list[ProcessSampler]],
    machine: MachineSampler, began: float, match_rooms: list[str],
) -> tuple[dict[str, float], float]:  # fmt: skip
    """Each process's CPU % since `began` and the machine's busy %. Read before the load
    generators are joined: a reaped process has no /proc entry."""
    busy = machine.busy_percent()
    elapsed = time.monotonic() - began
    cpu = {name: round(s.cpu_percent(), 1) for name, s in samplers.items()}
    cpu |= {name: round(100 * _used(group) / elapsed, 1) for name, group in loads.items()}
    workers = server_children(server.process.pid, server.database_pid()) if match_rooms else []
    if workers:  # the pool started within the phase: its whole CPU time is the phase's
        used = sum(ProcessSampler(pid).cpu_seconds() for pid in workers)
        cpu["computer_workers"] = round(100 * used / elapsed, 1)
        rss = [ProcessSampler(pid).rss_mb() for pid in workers]
        print(f"  server children but the database (computer workers): RSS MB {rss}")
    return cpu, busy


def _used(samplers: list[ProcessSampler]) -> float:
    """CPU seconds the processes used since their samplers started (0 for one gone)."""
    used = 0.0
    for sampler in samplers:
        assert sampler.started is not None
        with contextlib.suppress(OSError):  # a process that ended before it was read
            used += sampler.cpu_seconds() - sampler.started[1]
    return used


def per_move(count: int | None, moves: int) -> str:
    return "-" if count is None or not moves else f"{count / moves:.2f}"


def computer_mode(args: argparse.Namespace, idle: float) -> None:
    import bench_realtime

    clubpengu = str(Path(sys.executable).with_name("clubpengu"))
    total = args.walkers + args.n
    env = {"DAILY_BONUS_COINS": "0", "COMPUTER_WORKERS": str(args.computer_workers)}
    with bench_realtime.world(total, False) as (world_env, specs), serve(env | world_env) as server:
        walker_specs, match_rooms = (
            specs[: args.walkers],
            [room for _, room in specs[args.walkers :]],
        )
        phases = []
        if args.baseline and args.walkers:
            phases.append(("walkers alone", walkers_phase(server, walker_specs, args, [])))
        label = "walkers + computer matches" if args.walkers else "computer matches, no walkers"
        phases.append((label, walkers_phase(server, walker_specs, args, match_rooms)))
        verify = subprocess.run(
            [clubpengu, "ledger", "verify"], capture_output=True, text=True,
            env=os.environ | {"CLUBPENGU_DATA_DIR": str(server.data_dir)},
        )  # fmt: skip
    verdict = "clean" if verify.returncode == 0 else (verify.stdout + verify.stderr)[-500:]
    print(f"machine idle before the run: {idle} %")
    print(f"{args.walkers} walkers (rooms of 20, 10 moves/s), {args.n} players against the "
          f"computer ({args.level}, {args.computer_workers} worker process(es)), "
          f"{args.duration} s each phase")  # fmt: skip
    for label, f in phases:
        w = f["walkers"]
        machine = f["machine"]
        print(f"{label}: cpu % {f['cpu_percent']}")
        print(f"  machine: {machine['cores']} cores, busy {machine['busy_percent']} % of "
              f"{100 * machine['cores']} % over the phase")  # fmt: skip
        if args.walkers:
            print(f"  walkers move->moves  p50 {w['p50']} ms  p95 {w['p95']} ms  p99 {w['p99']} ms"
                  f"  max {w['max']} ms  ({w['count']} samples)")  # fmt: skip
        if "match_move" in f:
            print(f"  {f['matches']} matches against the computer played, think "
                  f"{0.5 * f['think_s']:g}-{1.5 * f['think_s']:g} s, "
                  f"{f['reward_coins']} reward coins, {f['starts_unavailable']} starts "
                  f"answered unavailable (sent again), {f['moves_unavailable']} moves answered "
                  f"unavailable (match given up), {f['moves_too_late']} moves after their "
                  f"match had ended")  # fmt: skip
            for name in ("match_move", "match_move_after", "computer_move"):
                m = f[name]
                if not m["count"]:
                    print(f"  {name:<13} no samples")
                    continue
                print(f"  {name:<13} p50 {m['p50']} ms  p95 {m['p95']} ms  p99 {m['p99']} ms"
                      f"  max {m['max']} ms  ({m['count']} samples)")  # fmt: skip
            j = f["journal"]
            print(f"  journal: {j['moves']} moves written (both seats) in {j['matches']} new "
                  f"matches; barrier writes {j['barrier_writes']} "
                  f"({per_move(j['barrier_writes'], j['moves'])} a move); database fsyncs "
                  f"{j['fsyncs'] if j['fsyncs'] is not None else 'not counted (no perf)'} "
                  f"({per_move(j['fsyncs'], j['moves'])} a move)")  # fmt: skip
            print(f"  database requests: {j['requests']} "
                  f"({per_move(j['requests'], f['matches'])} a match played); database CPU "
                  f"{f['database_ms_per_match']} ms a match (the walkers' included)")  # fmt: skip
    print(f"ledger verify: {verdict}")
    write_json(args.json, {"idle_before": idle, "phases": dict(phases), "ledger_verify": verdict})


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
    parser.add_argument(
        "--computer",
        action="store_true",
        help="matches against the computer beside walkers (n defaults to 200)",
    )
    parser.add_argument("--level", default="normal", choices=("easy", "normal", "hard"))
    parser.add_argument("--walkers", type=int, default=1000)
    parser.add_argument(
        "--walker-workers", type=int, default=1, help="processes the walkers run in"
    )
    parser.add_argument(
        "--computer-workers", type=int, default=2, help="COMPUTER_WORKERS (the node's default)"
    )
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of each phase")
    parser.add_argument("--no-baseline", dest="baseline", action="store_false",
                        help="skip the walkers-alone phase")  # fmt: skip
    args = parser.parse_args()
    idle = idle_percent()
    if idle < 85:
        print(f"warning: the machine was only {idle} % idle before this run")
    if args.computer:
        if "--n" not in sys.argv:
            args.n = 200
        if "--think" not in sys.argv:
            args.think = 1.0
        computer_mode(args, idle)
        return
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
