#!/usr/bin/env python3
"""How long the computer opponent takes to choose a move, per game and level.

`--n` random positions per game (random legal play of a random length from a random deal,
never a finished game), the same for every level; each position is timed once per level
with `choose_move` in this process, as a pool worker of the server would run it. Prints
count, median, p95, p99 and max in ms per game and level; the max is the figure to hold
against the one-second promise. Deterministic positions (`--seed`), so runs compare.

    .venv/bin/python scripts/bench_computer.py
    .venv/bin/python scripts/bench_computer.py --n 500 --json /tmp/computer.json
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import idle_percent, summary_ms, write_json

from clubpengu.games import GAMES
from clubpengu.games.base import Game, State
from clubpengu.games.computer import Level, choose_move


def random_positions(game: Game, n: int, rng: random.Random) -> list[tuple[State, int]]:
    """Positions reached by random legal play, each with a seat that may move in it."""
    positions: list[tuple[State, int]] = []
    while len(positions) < n:
        state = game.new_state(rng.randrange(2**63))
        for _ in range(rng.randrange(game.max_moves)):
            seat = rng.choice(game.seats_to_move(state))
            after = game.apply(state, seat, rng.choice(game.legal_moves(state, seat)))
            if game.outcome(after) is not None:
                break
            state = after
        positions.append((state, rng.choice(game.seats_to_move(state))))
    return positions


def main() -> None:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--n", type=int, default=200, help="random positions per game")
    parser.add_argument("--warmup", type=int, default=5, help="untimed moves per game first")
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    print(f"CPU idle before the run: {idle_percent()} %")
    rng = random.Random(args.seed)
    figures: dict[str, dict[str, dict[str, float]]] = {}
    for game_id, game in GAMES.items():
        positions = random_positions(game, args.n, rng)
        for state, seat in positions[: args.warmup]:
            choose_move(game_id, state, seat, Level.HARD, 0)
        figures[game_id] = {}
        for level in Level:
            samples = []
            for index, (state, seat) in enumerate(positions):
                started = time.perf_counter()
                choose_move(game_id, state, seat, level, index)
                samples.append(time.perf_counter() - started)
            figures[game_id][level] = summary_ms(samples)
            row = figures[game_id][level]
            print(
                f"{game_id:13} {level:6}  n={row['count']:<5} median {row['p50']:8.2f}  "
                f"p95 {row['p95']:8.2f}  p99 {row['p99']:8.2f}  max {row['max']:8.2f} ms"
            )
    write_json(args.json, {"args": {k: str(v) for k, v in vars(args).items()}, **figures})


if __name__ == "__main__":
    main()
