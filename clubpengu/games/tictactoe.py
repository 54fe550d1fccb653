"""Tic-tac-toe: a 3x3 board, `{"cell": 0..8}` numbered row by row from the top left.

State: `board` (9 cells, each None or the seat that took it), `turn` (the seat to move)
and `result` (None while running, else `{"winner", "reason"}`).
"""

from __future__ import annotations

import copy
from typing import Any

from clubpengu.games.base import (
    AlternatingTurns,
    IllegalMove,
    Move,
    State,
    check_seat,
    move_index,
    result,
    start_turn,
    turn_of,
)

CELLS = 9
LINES: tuple[tuple[int, int, int], ...] = (
    (0, 1, 2),
    (3, 4, 5),
    (6, 7, 8),
    (0, 3, 6),
    (1, 4, 7),
    (2, 5, 8),
    (0, 4, 8),
    (2, 4, 6),
)


class TicTacToe(AlternatingTurns):
    """Turn-based; `apply` refuses a taken cell or one off the board with IllegalMove."""

    id = "tictactoe"
    name = "Tic-Tac-Toe"
    players = 2
    max_moves = CELLS
    # At most nine moves, and a draw is what two careful players reach: the least.
    reward_win = 10
    reward_draw = 5

    def new_state(self, seed: int) -> State:
        """The seed is unused: the game has no chance, but every game takes one."""
        return {"board": [None] * CELLS, "turn": 0, "result": None}

    def apply(self, state: State, seat: int, move: Move) -> State:
        start_turn(state, seat)
        cell = move_index(move, "cell", CELLS)
        board: list[Any] = list(state["board"])
        if board[cell] is not None:
            raise IllegalMove("That cell is already taken", cell=cell)
        board[cell] = seat
        return {"board": board, "turn": 1 - seat, "result": _result(board, seat)}

    def legal_moves(self, state: State, seat: int) -> list[Move]:
        if turn_of(state) != check_seat(seat):
            return []
        return [{"cell": cell} for cell, owner in enumerate(state["board"]) if owner is None]

    def view(self, state: State, seat: int) -> State:
        """Nothing is hidden; the copy keeps the caller from changing the stored state."""
        return {**copy.deepcopy(state), "seat": check_seat(seat)}

    def spectator_view(self, state: State) -> State:
        return copy.deepcopy(state)


def _result(board: list[Any], mover: int) -> dict[str, Any] | None:
    """Only the player who just moved can have completed a line."""
    if any(all(board[cell] == mover for cell in line) for line in LINES):
        return result(mover, "three_in_a_row")
    if all(owner is not None for owner in board):
        return result(None, "board_full")
    return None


GAME = TicTacToe()
