#!/usr/bin/env python3
"""The computer's hand-over: how long a move takes from the event loop to a worker process
and back while the loop is busy with other work, through the node's `ComputerPool`
(pipes the loop reads itself) and through a `ProcessPoolExecutor` (what it replaced:
a feeder thread and a manager thread that each need the GIL from the busy loop).

The loop is kept busy `--busy` of the time (pure-Python work in 1 ms slices, as a node's
rooms keep it); one move at a time is asked of two workers, connect-four positions at
the easiest level (a search of well under a millisecond), so what is measured is the
hand-over. Prints the median and p99 per pool and load.

    .venv/bin/python scripts/bench_computer_handover.py
    .venv/bin/python scripts/bench_computer_handover.py --moves 500 --busy 0 0.5 0.8
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import random
import statistics
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from functools import partial

from clubpengu.games import get_game
from clubpengu.games.computer import choose_move, move_seed
from clubpengu.models import Match
from clubpengu.services.matches.computer_pool import ComputerPool

SLICE = 0.001  # seconds of work the loop does between two looks at its sockets


async def keep_busy(share: float, stop: asyncio.Event) -> None:
    """Hold the loop `share` of the time, in slices of SLICE seconds."""
    rest = SLICE * (1 - share) / share
    while not stop.is_set():
        end = time.perf_counter() + SLICE
        while time.perf_counter() < end:
            pass
        await asyncio.sleep(rest)


Ask = Callable[[Match, int], Awaitable[object]]


def position(seed: int) -> tuple[Match, int]:
    """A connect-four match two to six random moves in, the computer (easiest) to move."""
    game = get_game("connect_four")
    rng = random.Random(seed)
    state = game.new_state(seed)
    played = 2 + 2 * rng.randrange(3)
    for _ in range(played):
        seat = game.seats_to_move(state)[0]
        state = game.apply(state, seat, rng.choice(game.legal_moves(state, seat)))
    seat = game.seats_to_move(state)[0]
    # Built without validation: a Beanie document is otherwise bound to a database first.
    match = Match.model_construct(
        game="connect_four", state=state, seed=seed, seq=played, computer_level="easy"
    )
    return match, seat


async def measure(ask: Ask, share: float, moves: int) -> list[float]:
    stop = asyncio.Event()
    busy = asyncio.create_task(keep_busy(share, stop)) if share else None
    asked = [position(seed) for seed in range(moves)]
    took = []
    try:
        for match, seat in asked:
            began = time.perf_counter()
            await ask(match, seat)
            took.append(time.perf_counter() - began)
            await asyncio.sleep(0.002)
    finally:
        stop.set()
        if busy is not None:
            await busy
    return took


def executor_ask(pool: ProcessPoolExecutor) -> Ask:
    async def ask(match: Match, seat: int) -> object:
        work = partial(
            choose_move, match.game, match.state, seat, "easy", move_seed(match.seed, match.seq)
        )
        return await asyncio.get_running_loop().run_in_executor(pool, work)

    return ask


def summary(took: list[float]) -> str:
    ordered = sorted(took)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {1000 * statistics.median(ordered):8.2f} ms  p99 {1000 * p99:8.2f} ms"


async def run(args: argparse.Namespace) -> None:
    for share in args.busy:
        pool = ComputerPool(2)
        await measure(pool.choose, 0, 20)  # the workers started and warm
        ours = await measure(pool.choose, share, args.moves)
        await pool.stop()

        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(2, mp_context=context) as executor:
            ask = executor_ask(executor)
            await measure(ask, 0, 20)
            theirs = await measure(ask, share, args.moves)
        print(f"loop busy {share:4.0%}  ComputerPool (pipes)  {summary(ours)}")
        print(f"loop busy {share:4.0%}  ProcessPoolExecutor   {summary(theirs)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=300, help="moves per pool and load")
    parser.add_argument("--busy", type=float, nargs="+", default=[0.0, 0.5, 0.8])
    args = parser.parse_args()
    if any(not 0 <= share < 1 for share in args.busy):
        parser.error("--busy: shares of the time in [0, 1)")
    import uvloop

    uvloop.install()
    print(f"{args.moves} moves per pool and load, two worker processes each")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
