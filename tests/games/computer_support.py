"""Helpers for the computer-opponent tests: random positions and whole games played by the
computer against another player."""

from __future__ import annotations

import random
from collections.abc import Callable

from clubpengu.games import GAMES
from clubpengu.games.base import Move, State
from clubpengu.games.computer import Budget, choose_move, move_seed

# A stand-in opponent: a seat's move from (state, seat, ply).
Mover = Callable[[State, int, int], Move]


def random_position(game_id: str, seed: int, length: int) -> tuple[State, int]:
    """The position after up to `length` random legal moves from the deal of `seed`, never
    a finished game, and a seat that may move in it."""
    game, rng = GAMES[game_id], random.Random(seed)
    state = game.new_state(seed)
    for _ in range(length):
        seat = rng.choice(game.seats_to_move(state))
        after = game.apply(state, seat, rng.choice(game.legal_moves(state, seat)))
        if game.outcome(after) is not None:
            break
        state = after
    return state, rng.choice(game.seats_to_move(state))


def computer(game_id: str, level: str, seed: int, budget: Budget | None = None) -> Mover:
    return lambda state, seat, ply: choose_move(
        game_id, state, seat, level, move_seed(seed, ply), budget=budget
    )


def random_mover(game_id: str, seed: int) -> Mover:
    rng = random.Random(seed)
    return lambda state, seat, ply: rng.choice(GAMES[game_id].legal_moves(state, seat))


def play(game_id: str, seed: int, seat_0: Mover, seat_1: Mover) -> tuple[State, int]:
    """A whole game from the deal of `seed`; `apply` refuses any illegal move on the way.
    Where both seats may move (Card-Jitsu), seat 0 picks first. Returns the final state and
    the number of moves played."""
    game, movers, ply = GAMES[game_id], (seat_0, seat_1), 0
    state = game.new_state(seed)
    while game.outcome(state) is None:
        seat = game.seats_to_move(state)[0]
        state = game.apply(state, seat, movers[seat](state, seat, ply))
        ply += 1
    return state, ply


def winner(game_id: str, state: State) -> int | None:
    outcome = GAMES[game_id].outcome(state)
    assert outcome is not None
    return outcome.winner
