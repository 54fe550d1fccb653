"""Tic-tac-toe: every line wins, a full board draws, and every bad move is refused."""

from __future__ import annotations

import copy

import pytest

from clubpengu.games import GameOver, IllegalMove, NotYourTurn, Outcome
from clubpengu.games.tictactoe import GAME
from tests.games.support import alternate, has_three_in_a_row, malformed_moves, play

ROWS = [(0, 1, 2), (3, 4, 5), (6, 7, 8)]
COLUMNS = [(0, 3, 6), (1, 4, 7), (2, 5, 8)]
DIAGONALS = [(0, 4, 8), (2, 4, 6)]
# X O X / X O O / O X X, in an order where nobody completes a line early.
DRAW = [0, 1, 2, 4, 3, 5, 7, 6, 8]
SEAT_0_WINS = [0, 3, 1, 4, 2]


def _line_then_fillers(line: tuple[int, int, int]) -> list[int]:
    """Seat 0 plays the line; seat 1 plays the first free cells, too few to win."""
    others = [cell for cell in range(9) if cell not in line]
    return [line[0], others[0], line[1], others[1], line[2]]


def test_the_board_starts_empty_with_seat_0_to_move() -> None:
    state = GAME.new_state(0)

    assert state == {"board": [None] * 9, "turn": 0, "result": None}
    assert GAME.to_move(state) == 0
    assert GAME.outcome(state) is None


@pytest.mark.parametrize("line", ROWS + COLUMNS + DIAGONALS)
def test_three_in_a_line_wins(line: tuple[int, int, int]) -> None:
    state = play(GAME, alternate("cell", _line_then_fillers(line)))

    assert GAME.outcome(state) == Outcome(winner=0, reason="three_in_a_row")


def test_seat_1_wins_with_its_own_line() -> None:
    state = play(GAME, alternate("cell", [0, 3, 1, 4, 6, 5]))

    assert GAME.outcome(state) == Outcome(winner=1, reason="three_in_a_row")


def test_a_full_board_without_a_line_is_a_draw() -> None:
    state = play(GAME, alternate("cell", DRAW))

    assert GAME.outcome(state) == Outcome(winner=None, reason="board_full")
    assert not has_three_in_a_row(state["board"], 0)
    assert not has_three_in_a_row(state["board"], 1)


def test_a_line_made_by_the_last_free_cell_wins_rather_than_draws() -> None:
    state = play(GAME, alternate("cell", [0, 1, 2, 3, 4, 5, 7, 6, 8]))

    assert GAME.outcome(state) == Outcome(winner=0, reason="three_in_a_row")


def test_a_move_marks_the_cell_and_passes_the_turn() -> None:
    state = GAME.apply(GAME.new_state(0), 0, {"cell": 4})

    assert state["board"][4] == 0
    assert GAME.to_move(state) == 1
    assert GAME.seats_to_move(state) == (1,)


@pytest.mark.parametrize("cell", [0, 4])
def test_a_taken_cell_is_illegal(cell: int) -> None:
    state = play(GAME, alternate("cell", [0, 4]))

    with pytest.raises(IllegalMove, match="taken"):
        GAME.apply(state, 0, {"cell": cell})


@pytest.mark.parametrize("cell", [-1, 9, 100])
def test_a_cell_off_the_board_is_illegal(cell: int) -> None:
    with pytest.raises(IllegalMove):
        GAME.apply(GAME.new_state(0), 0, {"cell": cell})


@pytest.mark.parametrize("move", malformed_moves("cell", 4))
def test_a_malformed_move_is_illegal(move: object) -> None:
    with pytest.raises(IllegalMove):
        GAME.apply(GAME.new_state(0), 0, move)  # type: ignore[arg-type]


def test_seat_1_cannot_move_first() -> None:
    with pytest.raises(NotYourTurn):
        GAME.apply(GAME.new_state(0), 1, {"cell": 4})


def test_a_seat_cannot_move_twice_in_a_row() -> None:
    state = GAME.apply(GAME.new_state(0), 0, {"cell": 4})

    with pytest.raises(NotYourTurn):
        GAME.apply(state, 0, {"cell": 5})


@pytest.mark.parametrize("seat", [0, 1])
def test_no_seat_can_move_after_the_game_ended(seat: int) -> None:
    state = play(GAME, alternate("cell", SEAT_0_WINS))

    with pytest.raises(GameOver):
        GAME.apply(state, seat, {"cell": 8})


def test_a_finished_game_waits_for_nobody() -> None:
    state = play(GAME, alternate("cell", SEAT_0_WINS))

    assert GAME.to_move(state) is None
    assert GAME.seats_to_move(state) == ()
    assert GAME.legal_moves(state, 1) == []


def test_apply_leaves_its_input_unchanged() -> None:
    state = play(GAME, alternate("cell", [0, 4]))
    before = copy.deepcopy(state)

    after = GAME.apply(state, 0, {"cell": 8})

    assert state == before
    assert after["board"] is not state["board"]


def test_legal_moves_are_the_free_cells_for_the_seat_to_move() -> None:
    state = play(GAME, alternate("cell", [0, 4]))

    assert GAME.legal_moves(state, 0) == [{"cell": c} for c in (1, 2, 3, 5, 6, 7, 8)]
    assert GAME.legal_moves(state, 1) == []


def test_the_view_shows_the_whole_board_and_the_seat() -> None:
    state = play(GAME, alternate("cell", [0, 4]))

    view = GAME.view(state, 1)

    assert view == {**state, "seat": 1}


def test_changing_a_view_does_not_change_the_state() -> None:
    state = play(GAME, alternate("cell", [0, 4]))

    GAME.view(state, 0)["board"][8] = 1

    assert state["board"][8] is None


def test_replay_rebuilds_a_played_game() -> None:
    log = alternate("cell", DRAW)
    state = GAME.new_state(0)
    for seat, move in log:
        state = GAME.apply(state, seat, move)

    assert play(GAME, log) == state
