"""Tic-tac-toe by minimax over the game's own rules (`apply`, `outcome`, `legal_moves`).

Scores are seen from the seat to move: a won game is worth WIN less one per move it takes,
so a quicker win beats a slower one and a later loss beats an earlier one; what a shallow
search cannot see is worth 0. Where the depth reaches the end of the game the value is
exact, and exact values come from `_perfect`, which remembers them for the life of the
process: the whole game has 5,478 positions, solved once (about 0.1 s) instead of once a
move. That memory never changes a result, only how soon it is known; depth-limited values
are remembered within one call only.
"""

from __future__ import annotations

import functools
import random
from typing import Any

from clubpengu.games.base import Move, State
from clubpengu.games.computer.levels import Budget
from clubpengu.games.computer.search import WIN, BudgetSpent, NodeCounter, pick_best
from clubpengu.games.tictactoe import CELLS, GAME

# Enough for any two-ply look-ahead: the root's replies, each expanded once.
FALLBACK_NODES = CELLS + 1

Board = tuple[Any, ...]


def choose(view: State, legal: list[Move], budget: Budget, rng: random.Random) -> Move:
    """The best move `budget.depth` plies ahead; should the nodes run out first, the best
    move two plies ahead (a win or a block), which costs at most ten."""
    state = {"board": view["board"], "turn": view["turn"], "result": view["result"]}
    seat: int = view["seat"]
    try:
        scores = _scores(state, seat, legal, budget.depth, NodeCounter(budget.nodes))
    except BudgetSpent:
        scores = _scores(state, seat, legal, min(budget.depth, 2), NodeCounter(FALLBACK_NODES))
    return pick_best(legal, scores, rng)


def _scores(
    state: State, seat: int, legal: list[Move], depth: int, counter: NodeCounter
) -> list[int]:
    search = _Minimax(counter)
    return [_sooner(-search.value(GAME.apply(state, seat, move), depth - 1)) for move in legal]


class _Minimax:
    def __init__(self, counter: NodeCounter) -> None:
        self.counter = counter
        self.memo: dict[tuple[Board, int], int] = {}

    def value(self, state: State, depth: int) -> int:
        """The value of `state` for the seat to move, looking `depth` plies ahead."""
        outcome = GAME.outcome(state)
        if outcome is not None:
            # Only the seat that just moved can have won, so a decided game is a loss here.
            return 0 if outcome.winner is None else -WIN
        board = tuple(state["board"])
        if depth >= board.count(None):
            return _perfect(board)
        if depth == 0:
            return 0
        key = (board, depth)
        if key not in self.memo:
            self.counter.tick()
            seat = state["turn"]
            self.memo[key] = max(
                _sooner(-self.value(GAME.apply(state, seat, move), depth - 1))
                for move in GAME.legal_moves(state, seat)
            )
        return self.memo[key]


@functools.cache
def _perfect(board: Board) -> int:
    """The exact value of a running game's position for the seat to move (seat 0 moves
    whenever both have as many marks)."""
    seat = 0 if board.count(0) == board.count(1) else 1
    state = {"board": list(board), "turn": seat, "result": None}
    best = -WIN
    for move in GAME.legal_moves(state, seat):
        after = GAME.apply(state, seat, move)
        outcome = GAME.outcome(after)
        if outcome is None:
            value = -_perfect(tuple(after["board"]))
        else:
            value = 0 if outcome.winner is None else WIN
        best = max(best, _sooner(value))
    return best


def _sooner(value: int) -> int:
    """A result one move further away: a win is worth a little less, a loss a little less bad."""
    return value - 1 if value > 0 else value + 1 if value < 0 else 0
