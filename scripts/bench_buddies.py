#!/usr/bin/env python3
"""Buddies benchmark: a player with 100 buddies signs in and out while 1,000 clients walk
(scripts/bench_realtime.py's load), against `clubpengu serve` on the embedded database.

    .venv/bin/python scripts/bench_buddies.py                    # 1,000 walkers, 30 s, 1 pair
    .venv/bin/python scripts/bench_buddies.py --n 200 --duration 10
    .venv/bin/python scripts/bench_buddies.py --runs 3 --json buddies.json

Each run pair is one run without and one with the social player, in that order, so that
drift on a shared machine falls on both; the walkers' move -> `moves` p99 of each is
printed, with their medians over `--runs` pairs. In the run with the social player its
100 buddies are among the walkers (the first 100, all online, each in its room): before
the walkers sign in, each buddy wallet signs in once and accepts the social player's
request, over the WebSocket. While the walkers move, the social player connects, signs
in, joins a spare room, stays `--stay` seconds, closes, and starts again every `--every`
seconds: each join pushes `buddy_online` and each leave `buddy_offline` to the 100
buddies. Their delay is measured from the moment the social player sent `join` (or
closed its socket) to each buddy's arrival, and every expected push is counted.
BUDDY_REQUEST_RATE is 0 in both runs (the 100 requests of the set-up come at once).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_realtime import report, run_once
from benchlib import JsonClient, Server, Wallet, sign_in, summary_ms, write_json

ENV = {"BUDDY_REQUEST_RATE": "0"}


async def _befriend(url: str, social: Wallet, buddies: list[Wallet]) -> None:
    async with websockets.connect(url, max_size=None) as ws:
        player = JsonClient(ws)
        assert (await sign_in(player.call, social))["type"] == "auth_success"
        for buddy in buddies:
            async with websockets.connect(url, max_size=None) as bws:
                other = JsonClient(bws)
                assert (await sign_in(other.call, buddy))["type"] == "auth_success"
                sent = await player.call({"type": "buddy_request", "walletAddress": buddy.address})
                assert sent["type"] == "buddy_request_sent", sent
                added = await other.call({"type": "buddy_accept", "walletAddress": social.address})
                assert added["type"] == "buddy_added", added


async def _come_and_go(
    url: str, social: Wallet, room: str, stay: float, every: float, stop: threading.Event
) -> dict[str, list[float]]:
    """Sign in, join, stay, close; again every `every` s until `stop`: the perf_counter
    times at which `join` was sent and the socket closed."""
    times: dict[str, list[float]] = {"joins": [], "leaves": []}
    while not stop.is_set():
        began = time.perf_counter()
        async with websockets.connect(url, max_size=None) as ws:
            player = JsonClient(ws)
            assert (await sign_in(player.call, social))["type"] == "auth_success"
            times["joins"].append(time.perf_counter())
            joined = await player.call({"type": "join", "room": room})
            assert joined["type"] == "joined", joined
            await asyncio.sleep(stay)
            times["leaves"].append(time.perf_counter())
        await asyncio.sleep(max(0.0, every - (time.perf_counter() - began)))
    return times


def _delays(noted: list[tuple[str, float]], times: dict[str, list[float]]) -> dict[str, Any]:
    """Each push's delay after the latest join (or leave) before it."""
    result: dict[str, Any] = {}
    for kind, key in (("buddy_online", "joins"), ("buddy_offline", "leaves")):
        starts = sorted(times[key])
        delays = []
        for seen_kind, at in noted:
            if seen_kind == kind:
                before = [t for t in starts if t <= at]
                if before:
                    delays.append(at - before[-1])
        result[kind] = {"seen": len(delays), "expected": 0, "delay": summary_ms(delays)}
    return result


def run_pair(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any]]:
    print("--- without the social player")
    base = run_once(args.n, args.duration, args.workers, extra_env=ENV)
    report(base)
    social = Wallet()
    seeds = {i: os.urandom(32) for i in range(args.buddies)}
    buddies = [Wallet(seed) for seed in seeds.values()]
    spare = f"bench_{-(-args.n // 20)}"  # the room after the walkers' (bench_realtime.world)

    def prepare(server: Server) -> None:
        started = time.perf_counter()
        asyncio.run(_befriend(server.ws_url, social, buddies))
        print(f"  {len(buddies)} buddies made in {time.perf_counter() - started:.1f} s")

    def side(server: Server, stop: threading.Event) -> dict[str, list[float]]:
        return asyncio.run(_come_and_go(server.ws_url, social, spare, args.stay, args.every, stop))

    print(f"--- with a player of {args.buddies} buddies signing in and out")
    with_social = run_once(
        args.n, args.duration, args.workers, extra_env=ENV, seeds=seeds, prepare=prepare,
        side=side,
    )  # fmt: skip
    report(with_social)
    times = with_social["side"]
    delays = _delays(with_social.pop("noted"), times)
    # A cycle cut short by the end of the run may have sent its join but not its leave.
    delays["buddy_online"]["expected"] = len(times["joins"]) * args.buddies
    delays["buddy_offline"]["expected"] = len(times["leaves"]) * args.buddies
    with_social["buddy_pushes"] = delays
    for kind, figures in delays.items():
        d = figures["delay"]
        print(f"  {kind:14} {figures['seen']}/{figures['expected']} delivered, delay p50 "
              f"{d.get('p50')} ms  p99 {d.get('p99')} ms  max {d.get('max')} ms")  # fmt: skip
    print(f"  the social player came {len(times['joins'])} times")
    return base, with_social


def _cpu_per_move(figures: dict[str, Any]) -> float:
    """Server CPU per move handled (its fan-out included), in microseconds: steadier than
    the latency on a shared machine, where a run that gets less CPU also moves less."""
    seconds = figures["cpu_percent"]["server"] / 100 * figures["duration_s"]
    return round(seconds / max(1, figures["own_moves_sent"]) * 1e6, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="walkers")
    parser.add_argument("--buddies", type=int, default=100, help="the social player's buddies")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of movement")
    parser.add_argument("--workers", type=int, default=1, help="load generator processes")
    parser.add_argument("--stay", type=float, default=0.5, help="seconds the player stays")
    parser.add_argument("--every", type=float, default=1.0, help="seconds between sign-ins")
    parser.add_argument("--runs", type=int, default=1, help="pairs of runs (without, with)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    assert args.buddies <= args.n, "the buddies are walkers"
    pairs = [run_pair(args) for _ in range(args.runs)]
    p99 = {
        "without": [b["move_to_moves"]["p99"] for b, _ in pairs],
        "with": [w["move_to_moves"]["p99"] for _, w in pairs],
    }
    cpu = {
        "without": [_cpu_per_move(b) for b, _ in pairs],
        "with": [_cpu_per_move(w) for _, w in pairs],
    }
    print(f"=== walkers' move->moves p99 over {args.runs} pair(s), median (each): "
          f"without {round(statistics.median(p99['without']), 1)} ms ({p99['without']}), "
          f"with {round(statistics.median(p99['with']), 1)} ms ({p99['with']})")  # fmt: skip
    print(f"    server CPU per move handled (us): without {cpu['without']}, with {cpu['with']}; "
          f"moves sent: without {[b['own_moves_sent'] for b, _ in pairs]}, "
          f"with {[w['own_moves_sent'] for _, w in pairs]}")  # fmt: skip
    write_json(
        args.json, {"pairs": pairs, "p99_ms": p99, "args": vars(args) | {"json": str(args.json)}}
    )


if __name__ == "__main__":
    main()
