"""Connect Four: gravity, four in every direction, a full board draws, bad moves refused."""

from __future__ import annotations

import copy

import pytest

from clubpengu.games import GameOver, IllegalMove, NotYourTurn, Outcome
from clubpengu.games.connect_four import GAME
from tests.games.support import alternate, has_four_in_a_row, malformed_moves, play

# Columns played alternately from seat 0; each ends on the winning disc.
WINS = {
    "horizontal_from_the_left": [0, 0, 1, 1, 2, 2, 3],
    "horizontal_at_the_right_edge": [6, 6, 5, 5, 4, 4, 3],
    "horizontal_filling_a_gap": [0, 0, 1, 1, 3, 3, 2],
    "vertical": [0, 1, 0, 1, 0, 1, 0],
    "vertical_at_the_top": [5, 5, 5, 0, 5, 0, 5, 0, 5],
    "diagonal_rising_to_the_right": [0, 1, 1, 2, 2, 3, 2, 3, 3, 5, 3],
    "diagonal_rising_to_the_left": [6, 5, 5, 4, 4, 3, 4, 3, 3, 1, 3],
    "diagonal_filling_a_gap": [0, 1, 1, 2, 3, 3, 2, 3, 3, 5, 2],
}
# A random game that filled all 42 cells with no four in a row for either seat.
DRAW = [int(column) for column in "331650114266141231434452363064260555520200"]


@pytest.mark.parametrize("columns", WINS.values(), ids=WINS.keys())
def test_four_in_a_row_wins(columns: list[int]) -> None:
    state = play(GAME, alternate("column", columns))

    assert GAME.outcome(state) == Outcome(winner=0, reason="four_in_a_row")
    assert has_four_in_a_row(state["board"], 0)


def test_seat_1_wins_with_its_own_four() -> None:
    state = play(GAME, alternate("column", [0, 1, 0, 1, 0, 1, 2, 1]))

    assert GAME.outcome(state) == Outcome(winner=1, reason="four_in_a_row")


def test_three_in_a_row_does_not_win() -> None:
    state = play(GAME, alternate("column", [0, 0, 1, 1, 2, 2]))

    assert GAME.outcome(state) is None


def test_a_line_does_not_wrap_around_the_edge_of_the_board() -> None:
    state = play(GAME, alternate("column", [5, 0, 6, 1, 0, 3, 1]))

    assert state["board"][0][5:] == [0, 0]
    assert state["board"][1][:2] == [0, 0]
    assert GAME.outcome(state) is None


def test_a_full_board_without_four_is_a_draw() -> None:
    state = play(GAME, alternate("column", DRAW))

    assert GAME.outcome(state) == Outcome(winner=None, reason="board_full")
    assert not has_four_in_a_row(state["board"], 0)
    assert not has_four_in_a_row(state["board"], 1)


def test_a_disc_falls_to_the_lowest_free_row() -> None:
    state = play(GAME, alternate("column", [3, 3]))

    assert state["board"][0][3] == 0
    assert state["board"][1][3] == 1
    assert all(state["board"][row][3] is None for row in range(2, 6))


def test_a_full_column_is_illegal() -> None:
    state = play(GAME, alternate("column", [2] * 6))

    with pytest.raises(IllegalMove, match="full"):
        GAME.apply(state, 0, {"column": 2})


@pytest.mark.parametrize("column", [-1, 7, 42])
def test_a_column_off_the_board_is_illegal(column: int) -> None:
    with pytest.raises(IllegalMove):
        GAME.apply(GAME.new_state(0), 0, {"column": column})


@pytest.mark.parametrize("move", malformed_moves("column", 3))
def test_a_malformed_move_is_illegal(move: object) -> None:
    with pytest.raises(IllegalMove):
        GAME.apply(GAME.new_state(0), 0, move)  # type: ignore[arg-type]


def test_seat_1_cannot_move_first() -> None:
    with pytest.raises(NotYourTurn):
        GAME.apply(GAME.new_state(0), 1, {"column": 3})


def test_a_seat_cannot_move_twice_in_a_row() -> None:
    state = GAME.apply(GAME.new_state(0), 0, {"column": 3})

    with pytest.raises(NotYourTurn):
        GAME.apply(state, 0, {"column": 3})


@pytest.mark.parametrize("seat", [0, 1])
def test_no_seat_can_move_after_the_game_ended(seat: int) -> None:
    state = play(GAME, alternate("column", WINS["vertical"]))

    with pytest.raises(GameOver):
        GAME.apply(state, seat, {"column": 6})


def test_a_finished_game_waits_for_nobody() -> None:
    state = play(GAME, alternate("column", DRAW))

    assert GAME.to_move(state) is None
    assert GAME.seats_to_move(state) == ()
    assert GAME.legal_moves(state, 0) == []


def test_apply_leaves_its_input_unchanged() -> None:
    state = play(GAME, alternate("column", [3, 3]))
    before = copy.deepcopy(state)

    after = GAME.apply(state, 0, {"column": 3})

    assert state == before
    assert all(new is not old for new, old in zip(after["board"], state["board"], strict=True))


def test_legal_moves_are_the_columns_with_room_for_the_seat_to_move() -> None:
    state = play(GAME, alternate("column", [2] * 6))

    assert GAME.legal_moves(state, 0) == [{"column": c} for c in (0, 1, 3, 4, 5, 6)]
    assert GAME.legal_moves(state, 1) == []


def test_the_view_shows_the_whole_board_and_the_seat() -> None:
    state = play(GAME, alternate("column", [3, 4]))

    assert GAME.view(state, 0) == {**state, "seat": 0}


def test_replay_rebuilds_a_played_game() -> None:
    log = alternate("column", DRAW)
    state = GAME.new_state(0)
    for seat, move in log:
        state = GAME.apply(state, seat, move)

    assert play(GAME, log) == state
