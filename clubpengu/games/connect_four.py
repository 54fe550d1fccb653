"""Connect Four: 7 columns by 6 rows, `{"column": 0..6}`; the disc falls to the lowest free row.

State: `board[row][column]` (row 0 is the bottom; each cell None or the seat whose disc it
is), `turn` (the seat to move) and `result` (None while running, else `{"winner",
"reason"}`).
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

COLUMNS = 7
ROWS = 6
CONNECT = 4
# Each line direction once; the opposite direction is walked from the same disc.
DIRECTIONS: tuple[tuple[int, int], ...] = ((0, 1), (1, 0), (1, 1), (1, -1))

Board = list[list[Any]]


class ConnectFour(AlternatingTurns):
    """Turn-based; `apply` refuses a full column or one off the board with IllegalMove."""

    id = "connect_four"
    name = "Connect Four"
    players = 2
    max_moves = COLUMNS * ROWS
    # Four times the moves of tic-tac-toe (a median of 34 plies) and the most skill.
    reward_win = 20
    reward_draw = 10

    def new_state(self, seed: int) -> State:
        """The seed is unused: the game has no chance, but every game takes one."""
        return {"board": [[None] * COLUMNS for _ in range(ROWS)], "turn": 0, "result": None}

    def apply(self, state: State, seat: int, move: Move) -> State:
        start_turn(state, seat)
        column = move_index(move, "column", COLUMNS)
        board: Board = [list(row) for row in state["board"]]
        row = _free_row(board, column)
        if row is None:
            raise IllegalMove("That column is full", column=column)
        board[row][column] = seat
        return {"board": board, "turn": 1 - seat, "result": _result(board, row, column)}

    def legal_moves(self, state: State, seat: int) -> list[Move]:
        if turn_of(state) != check_seat(seat):
            return []
        top = state["board"][ROWS - 1]
        return [{"column": column} for column in range(COLUMNS) if top[column] is None]

    def view(self, state: State, seat: int) -> State:
        """Nothing is hidden; the copy keeps the caller from changing the stored state."""
        return {**copy.deepcopy(state), "seat": check_seat(seat)}

    def spectator_view(self, state: State) -> State:
        return copy.deepcopy(state)


def _free_row(board: Board, column: int) -> int | None:
    for row in range(ROWS):
        if board[row][column] is None:
            return row
    return None


def _result(board: Board, row: int, column: int) -> dict[str, Any] | None:
    """Only a line through the disc just dropped can be new, so only those are counted."""
    seat = board[row][column]
    for d_row, d_column in DIRECTIONS:
        ahead = _run(board, row, column, d_row, d_column)
        behind = _run(board, row, column, -d_row, -d_column)
        if 1 + ahead + behind >= CONNECT:
            return result(seat, "four_in_a_row")
    if all(cell is not None for cell in board[ROWS - 1]):
        return result(None, "board_full")
    return None


def _run(board: Board, row: int, column: int, d_row: int, d_column: int) -> int:
    """How many discs of the same seat follow (row, column) in one direction."""
    seat = board[row][column]
    count = 0
    row, column = row + d_row, column + d_column
    while 0 <= row < ROWS and 0 <= column < COLUMNS and board[row][column] == seat:
        count += 1
        row, column = row + d_row, column + d_column
    return count


GAME = ConnectFour()
