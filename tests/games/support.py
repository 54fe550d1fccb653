"""Helpers shared by the game tests: malformed moves, scripted play, independent win checks."""

from __future__ import annotations

from typing import Any

from clubpengu.games.base import Game, Move, State, replay

# Every way a client can get one key's value wrong, whatever the key; range errors per game.
BAD_VALUES: list[object] = [True, False, None, 1.0, 4.5, "4", "", [4], {"x": 4}, 2**64, -(2**64)]


def malformed_moves(key: str, good: object) -> list[object]:
    """Moves with the wrong shape or a wrongly typed value for `{key: ...}`."""
    wrong_values: list[object] = [{key: value} for value in BAD_VALUES]
    wrong_shapes: list[object] = [
        {},
        {key: good, "extra": 1},
        {key.upper(): good},
        {"move": good},
        [good],
        good,
        None,
        f'{{"{key}": {good!r}}}',
    ]
    return wrong_values + wrong_shapes


def alternate(key: str, values: list[Any]) -> list[tuple[int, Move]]:
    """A turn-based log: seat 0 plays values[0], seat 1 values[1], and so on."""
    return [(index % 2, {key: value}) for index, value in enumerate(values)]


def play(game: Game, moves: list[tuple[int, Move]], seed: int = 0) -> State:
    return replay(game, seed, moves)


def has_three_in_a_row(board: list[Any], seat: int) -> bool:
    """Brute force over the 3x3 grid, independent of the rules' LINES table."""
    grid = [board[row * 3 : row * 3 + 3] for row in range(3)]
    lines = [*grid, *([grid[r][c] for r in range(3)] for c in range(3))]
    lines += [[grid[i][i] for i in range(3)], [grid[i][2 - i] for i in range(3)]]
    return any(all(cell == seat for cell in line) for line in lines)


def has_four_in_a_row(board: list[list[Any]], seat: int) -> bool:
    """Every window of four on the whole board, not only around the last disc."""
    rows, columns = len(board), len(board[0])
    for row in range(rows):
        for column in range(columns):
            for d_row, d_column in ((0, 1), (1, 0), (1, 1), (1, -1)):
                cells = [(row + d_row * i, column + d_column * i) for i in range(4)]
                if all(0 <= r < rows and 0 <= c < columns for r, c in cells) and all(
                    board[r][c] == seat for r, c in cells
                ):
                    return True
    return False


def card(card_id: str) -> dict[str, Any]:
    element, value = card_id.split("-")
    return {"id": card_id, "element": element, "value": int(value)}
