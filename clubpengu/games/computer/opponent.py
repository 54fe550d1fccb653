"""The computer's move in any game: one entry point for the match service.

`choose_move` is a pure function of picklable values (a game id, a dict state, ints and a
level string), so the service can run it in a thread or a process pool, off the event loop.
Each game's player sees only `game.view(state, seat)`, what a person in that seat would see,
and the moves `game.legal_moves` lists; so the computer cannot peek at a hidden hand.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from clubpengu.games.base import Move, State
from clubpengu.games.catalog import get_game
from clubpengu.games.computer import card_jitsu, connect_four, tictactoe
from clubpengu.games.computer.levels import DEFAULT_BUDGETS, Budget, Level

# (the seat's view, its legal moves, the budget, the move's random numbers) -> a legal move
Player = Callable[[State, list[Move], Budget, random.Random], Move]

PLAYERS: dict[str, Player] = {
    "tictactoe": tictactoe.choose,
    "connect_four": connect_four.choose,
    "card_jitsu": card_jitsu.choose,
}


def choose_move(
    game_id: str,
    state: State,
    seat: int,
    level: Level | str,
    seed: int,
    *,
    budget: Budget | None = None,
) -> Move:
    """The move the computer in `seat` plays now, at `level` (or with `budget`).

    The same arguments always give the same move: randomness comes from `seed` alone (see
    `move_seed`). Raises NotFound for an unknown game, ValueError for an unknown level, and
    ValueError when `seat` may not move now (asking then is the caller's bug).
    """
    game = get_game(game_id)
    legal = game.legal_moves(state, seat)
    if not legal:
        raise ValueError(f"seat {seat} has no move to make in this {game_id} state")
    chosen = budget or DEFAULT_BUDGETS[game_id][Level(level)]
    rng = random.Random(seed)
    if rng.random() < chosen.random_move_chance:
        return rng.choice(legal)
    return PLAYERS[game_id](game.view(state, seat), legal, chosen, rng)
