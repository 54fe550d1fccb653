#!/usr/bin/env python3
"""Sign-in storm: N clients open at R per second, each signs in with its wallet, joins
`town` (ROOM_CAPACITY=20) and walks at 10 Hz, against `clubpengu serve` on the embedded
database; first as new wallets, then, after a restart on the same data, as returning ones.

    .venv/bin/python scripts/bench_signin_storm.py             # 1,000 at 100/s, new + returning
    .venv/bin/python scripts/bench_signin_storm.py --n 2000 --rate 100
    .venv/bin/python scripts/bench_signin_storm.py --only new --sigterm   # then SIGTERM under load
    .venv/bin/python scripts/bench_signin_storm.py --env STATS_FLUSH_INTERVAL=5s --json out.json

What one run does: `clubpengu serve` starts on a free port (ROOM_CAPACITY=20,
AUTH_RATE_PER_IP=0, and `--env` settings) on a data directory that the returning run
reuses. Client k opens its WebSocket at start + k/R and does auth_request, auth_verify (a
real ed25519 signature over the nonce) and `join` to `town`; one that has no `joined`
within `--timeout` seconds (15) counts as failed, with the reason (timeout in sign-in or
join, auth_failure or error code, closed connection). Each seated client moves at 10 Hz;
once every client is seated or failed, all walk for `--walk` seconds more (20).

It prints: joined / failed with reasons; sign-in (open to auth_success), join
(auth_success to joined) and sign-in + join p50/p95/p99; the first-to-last seat time;
the database commands per successful sign-in + join, by kind, from the /metrics command
counters (all commands sent during the arrivals, the background batches included: events,
stats flushes, the daily bonus), and during the walk; move -> `moves` latency during the
walk, after everyone was seated; server and database CPU in the arrivals and the walk;
every stats flush the server logged (players, seconds). With `--sigterm` the server gets
SIGTERM once the walk is over (while the clients still walk; with `--sigterm-in-flush`,
as soon as the next stats flush has started): the time to exit, the close codes the
clients got, whether the final stats flush was written, and every ERROR or traceback line
of the log.

The load runs in `--workers` processes at `nice 10`. The machine's idle share before the
run is printed: other work on the machine skews every figure but the command counts.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import ProcessSampler, idle_percent, serve_node, summary_ms, write_json
from stormclient import worker

COMMANDS = re.compile(
    r'^clubpengu_mongodb_command_duration_seconds_count\{command="(\w+)"\} (\S+)$'
)
SERVE_ENV = {"ROOM_CAPACITY": "20", "AUTH_RATE_PER_IP": "0", "LOG_LEVEL": "info"}
FLUSHED = re.compile(r"stats flushed: (\d+) players, (\d+) ops in (\d+) bulk writes, ([\d.]+) s")


def commands(port: int) -> Counter[str]:
    """Database commands sent so far, by kind (the /metrics histogram's counts); empty when
    an overloaded server does not answer in two minutes."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=120) as response:
            text = response.read().decode()
    except OSError as error:
        print(f"  (/metrics did not answer: {error})")
        return Counter()
    counts: Counter[str] = Counter()
    for line in text.splitlines():
        match = COMMANDS.match(line)
        if match:
            counts[match.group(1)] += round(float(match.group(2)))
    return counts


def log_records(path: Path, since: int = 0) -> list[dict[str, Any]]:
    records = []
    with path.open("rb") as log:
        log.seek(since)
        for line in log:
            try:
                records.append(json.loads(line))
            except ValueError:
                records.append({"level": "raw", "msg": line.decode(errors="replace").rstrip()})
    return records


def flushes(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for record in records:
        match = FLUSHED.match(str(record.get("msg", "")))
        if match:
            players, _ops, _bulks, seconds = match.groups()
            found.append(
                {"ts": record.get("ts"), "players": int(players), "seconds": float(seconds)}
            )
    return found


class Phase:
    """CPU of the server, the database and the load generator, and the commands sent, over
    one phase."""

    def __init__(self, server: Any, port: int, generators: list[int]) -> None:
        self.port = port
        self.samplers = {"server": ProcessSampler(server.process.pid),
                         "database": ProcessSampler(server.database_pid())}  # fmt: skip
        self.generators = [ProcessSampler(pid) for pid in generators]
        for sampler in [*self.samplers.values(), *self.generators]:
            sampler.start()
        self.before = commands(port)
        self.started = time.monotonic()

    def end(self) -> dict[str, Any]:
        cpu = {name: round(s.cpu_percent(), 1) for name, s in self.samplers.items()}
        cpu["load_generator"] = round(sum(g.cpu_percent() for g in self.generators), 1)
        sent = commands(self.port) - self.before
        return {"seconds": round(time.monotonic() - self.started, 1), "cpu_percent": cpu,
                "commands": dict(sent)}  # fmt: skip


def run_storm(
    args: argparse.Namespace, data: Path, seeds: list[bytes], kind: str
) -> dict[str, Any]:
    env = SERVE_ENV | dict(item.split("=", 1) for item in args.env)
    with serve_node(data, env) as server:
        log_path = data.parent / f"serve-{server.port}.log"
        context = mp.get_context("fork")
        control = {"settled": context.Queue(), "results": context.Queue(), "stop": context.Event()}
        start = time.monotonic() + 1.0
        specs = [(i, seed, "town", start + i / args.rate) for i, seed in enumerate(seeds)]
        settings = {"timeout": args.timeout, "drain": 1.0, "nice": args.nice}
        procs = [context.Process(target=worker, args=(server.port, specs[w :: args.workers],
                                                      settings, control))
                 for w in range(args.workers)]  # fmt: skip
        for proc in procs:
            proc.start()
        generators = [proc.pid for proc in procs if proc.pid is not None]
        arrivals = Phase(server, server.port, generators)
        for _ in procs:
            control["settled"].get(timeout=args.n / args.rate + args.timeout + 600)
        figures: dict[str, Any] = {"arrivals": arrivals.end()}
        walk = Phase(server, server.port, generators)
        time.sleep(args.walk)
        figures["walk"] = walk.end()
        if args.sigterm:
            figures["sigterm"] = sigterm(server, log_path, args.sigterm_in_flush)
        control["stop"].set()
        parts = [control["results"].get(timeout=120) for _ in procs]
        for proc in procs:
            proc.join(30)
        figures["flushes"] = flushes(log_records(log_path))
    results = [r for part in parts for r in part["clients"]]
    figures |= clients_summary(results, start, figures["walk"], kind)
    figures["generator_lag"] = lag_summary([lag for part in parts for lag in part["lags"]], results)
    return figures


def lag_summary(lags: list[tuple[float, float]], results: list[dict[str, Any]]) -> dict[str, Any]:
    """How late the load generator's own loop ran (beyond one 1 ms slot), during the
    arrivals and during the walk: its latencies include that much."""
    seats = [r["times"]["joined"] for r in results if "joined" in r["times"]]
    walk_from = max(seats, default=0.0)
    arrivals = [late for when, late in lags if when < walk_from]
    walking = [late for when, late in lags if when >= walk_from]
    return {"arrivals_ms": summary_ms(arrivals), "walk_ms": summary_ms(walking)}


def sigterm(server: Any, log_path: Path, in_flush: bool) -> dict[str, Any]:
    """SIGTERM under load (optionally once a stats flush has started): time to exit and
    what the log says about the shutdown."""
    offset = log_path.stat().st_size
    if in_flush:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not any(
            "stats flush started" in str(r.get("msg")) for r in log_records(log_path, offset)
        ):
            time.sleep(0.05)
    sent = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    try:
        code: int | str = server.process.wait(60)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
        code = "killed: no exit within 60 s"
    exit_s = time.monotonic() - sent
    after = log_records(log_path, offset)
    bad = [r for r in after if r.get("level") in {"error", "critical", "raw"} or "exc" in r]
    return {
        "exit_seconds": round(exit_s, 2),
        "exit_code": code,
        "final_flush": flushes(after)[-1:] or None,
        "lost_stats": any("will be lost" in str(r.get("msg")) for r in after),
        "error_lines": [str(r.get("msg"))[:200] for r in bad][:20],
        "error_count": len(bad),
    }


def clients_summary(results: list[dict[str, Any]], start: float, walk: dict[str, Any],
                    kind: str) -> dict[str, Any]:  # fmt: skip
    joined = [r for r in results if r["failure"] is None]
    failures = Counter(r["failure"] for r in results if r["failure"] is not None)
    t = [r["times"] for r in joined]
    seats = [x["joined"] for x in t]
    walk_from = max(seats, default=start)
    moves = [lat for r in joined for sent, lat in r["samples"] if sent >= walk_from]
    sent = sum(r["sent"] for r in joined)
    total = sum(walk["commands"].values()) if walk else 0
    return {
        "kind": kind,
        "n": len(results),
        "joined": len(joined),
        "new_users": sum(int(x.get("new_user", 0)) for x in t),
        "failed": sum(failures.values()),
        "failures": dict(failures.most_common()),
        "sign_in_ms": summary_ms([x["signed"] - x["opened"] for x in t]),
        "join_ms": summary_ms([x["joined"] - x["signed"] for x in t]),
        "sign_in_join_ms": summary_ms([x["joined"] - x["opened"] for x in t]),
        "first_to_last_seat_s": round(max(seats) - min(seats), 2) if seats else None,
        "moves_after_seating_ms": summary_ms(moves),
        "moves_delivered": f"{sent - sum(r['uncovered'] for r in joined)}/{sent}",
        "rooms": len({r["room"] for r in joined}),
        "close_codes": dict(Counter(str(r["close_code"]) for r in results)),
        "walk_commands_total": total,
    }


def report(f: dict[str, Any], args: argparse.Namespace) -> None:
    a, w = f["arrivals"], f["walk"]
    print(f"=== {f['kind']} wallets: {f['n']} clients opening at {args.rate}/s "
          f"(CPUs {f['idle_before_percent']} % idle before)")  # fmt: skip
    print(f"  joined {f['joined']}, failed {f['failed']}  {f['failures'] or ''}")
    print(f"  new users {f['new_users']}, rooms {f['rooms']}, first-to-last seat "
          f"{f['first_to_last_seat_s']} s")  # fmt: skip
    for name in ("sign_in_ms", "join_ms", "sign_in_join_ms"):
        s = f[name]
        if s.get("count"):
            print(f"  {name[:-3]:14} p50 {s['p50']} ms  p95 {s['p95']} ms  p99 {s['p99']} ms"
                  f"  max {s['max']} ms")  # fmt: skip
    per = {k: round(v / max(1, f["joined"]), 2) for k, v in sorted(a["commands"].items())}
    print(f"  database commands per sign-in + join: {round(sum(per.values()), 2)}  {per}")
    print(f"  arrivals {a['seconds']} s: CPU % of a core server {a['cpu_percent']['server']}, "
          f"database {a['cpu_percent']['database']}, load generator "
          f"{a['cpu_percent']['load_generator']}")  # fmt: skip
    m = f["moves_after_seating_ms"]
    if m.get("count"):
        print(f"  walk {w['seconds']} s: move->moves p50 {m['p50']} ms  p95 {m['p95']} ms  "
              f"p99 {m['p99']} ms  max {m['max']} ms; "
              f"delivered {f['moves_delivered']}")  # fmt: skip
    print(f"  walk CPU % of a core: server {w['cpu_percent']['server']}, database "
          f"{w['cpu_percent']['database']}, load generator {w['cpu_percent']['load_generator']};"
          f" commands {w['commands']}")  # fmt: skip
    for phase, lag in f["generator_lag"].items():
        if lag.get("count"):
            print(f"  load generator's loop late (> 1 ms) in the {phase[:-3]}: {lag['count']} "
                  f"times, p99 {lag['p99']} ms, max {lag['max']} ms")  # fmt: skip
    for flush in f["flushes"]:
        print(f"  stats flush at {flush['ts']}: {flush['players']} players in {flush['seconds']} s")
    if "sigterm" in f:
        s = f["sigterm"]
        print(f"  SIGTERM: exit {s['exit_code']} after {s['exit_seconds']} s; close codes "
              f"{f['close_codes']}; final flush {s['final_flush']}; stats lost: "
              f"{s['lost_stats']}; {s['error_count']} ERROR/traceback lines")  # fmt: skip
        for line in s["error_lines"]:
            print(f"    {line}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog=__doc__.split("\n\n", 2)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("--n", type=int, default=1000, help="clients (default 1000)")
    add("--rate", type=float, default=100.0, help="clients opened per second (default 100)")
    add("--timeout", type=float, default=15.0, help="seconds to `joined` before a client fails")
    add("--walk", type=float, default=20.0, help="seconds of walking once all are settled")
    add("--only", choices=("new", "returning"), help="one run (returning: needs --data-dir)")
    add("--data-dir", type=Path, help="keep the data and wallets here (default: a temp dir)")
    add("--workers", type=int, default=1, help="load generator processes")
    add("--nice", type=int, default=10, help="the load generator's niceness")
    add("--env", action="append", default=[], metavar="VAR=VALUE", help="a server setting")
    add("--sigterm", action="store_true", help="after the walk, SIGTERM the server under load")
    add("--sigterm-in-flush", action="store_true", help="SIGTERM once a stats flush started")
    add("--json", type=Path, help="write every figure here")
    args = parser.parse_args()
    args.sigterm = args.sigterm or args.sigterm_in_flush
    with tempfile.TemporaryDirectory() as tmp:
        root = args.data_dir or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        wallets = root / "wallets.json"
        if args.only == "returning":
            seeds = [bytes.fromhex(s) for s in json.loads(wallets.read_text())][: args.n]
        else:
            seeds = [secrets.token_bytes(32) for _ in range(args.n)]
            wallets.write_text(json.dumps([s.hex() for s in seeds]))
        kinds = [args.only] if args.only else ["new", "returning"]
        runs = []
        for kind in kinds:
            idle = idle_percent()
            figures = run_storm(args, root / "data", seeds, kind) | {"idle_before_percent": idle}
            report(figures, args)
            runs.append(figures)
    write_json(args.json, {"runs": runs, "args": {k: str(v) for k, v in vars(args).items()},
                           "pid": os.getpid()})  # fmt: skip


if __name__ == "__main__":
    main()
