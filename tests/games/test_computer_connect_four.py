"""The Connect Four computer: its bitboards agree with the game's rules, it wins and blocks
what a search of its depth sees, and hard beats easy."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace

import pytest

from clubpengu.games.base import State
from clubpengu.games.computer import DEFAULT_BUDGETS, Level, choose_move
from clubpengu.games.computer.connect_four import (
    BOARD,
    bitboards,
    drop,
    has_four,
    line_ends,
    playable,
)
from clubpengu.games.connect_four import COLUMNS, GAME, ROWS
from tests.games.computer_support import computer, play, winner
from tests.games.support import alternate, has_four_in_a_row
from tests.games.support import play as replay_log

HARD_VS_EASY_GAMES = 16


def _random_states(games: int) -> list[State]:
    """Every state of `games` random games, the final ones included."""
    rng, states = random.Random("connect-four-mirror"), []
    for _ in range(games):
        state = GAME.new_state(0)
        states.append(state)
        while GAME.outcome(state) is None:
            state = GAME.apply(
                state, state["turn"], rng.choice(GAME.legal_moves(state, state["turn"]))
            )
            states.append(state)
    return states


def _cell(row: int, column: int) -> int:
    return 1 << (column * (ROWS + 1) + row)


def test_the_bitboards_hold_exactly_the_discs_of_the_board() -> None:
    for state in _random_states(30):
        for seat in (0, 1):
            mine, theirs = bitboards(state["board"], seat)
            for row in range(ROWS):
                for column in range(COLUMNS):
                    owner = state["board"][row][column]
                    assert bool(mine & _cell(row, column)) == (owner == seat)
                    assert bool(theirs & _cell(row, column)) == (owner == 1 - seat)
            assert not (mine | theirs) & ~BOARD


def test_a_four_on_the_bitboards_is_a_four_on_the_board() -> None:
    for state in _random_states(60):
        for seat in (0, 1):
            mine, _ = bitboards(state["board"], seat)
            assert has_four(mine) == has_four_in_a_row(state["board"], seat)


def test_the_playable_cells_are_where_the_games_legal_moves_drop_a_disc() -> None:
    for state in _random_states(30):
        if GAME.outcome(state) is not None:
            continue
        seat = state["turn"]
        mine, theirs = bitboards(state["board"], seat)
        expected = 0
        for move in GAME.legal_moves(state, seat):
            after, _ = bitboards(GAME.apply(state, seat, move)["board"], seat)
            assert after == mine | drop(mine | theirs, move["column"])
            expected |= after & ~mine
        assert playable(mine | theirs) == expected


def test_line_ends_are_the_empty_cells_where_a_disc_would_make_four() -> None:
    """Every empty cell is tried, playable now or not, against the independent checker."""
    for state in _random_states(12):
        for seat in (0, 1):
            mine, _ = bitboards(state["board"], seat)
            if has_four(mine):
                continue
            for row in range(ROWS):
                for column in range(COLUMNS):
                    if state["board"][row][column] is not None:
                        continue
                    board = [list(line) for line in state["board"]]
                    board[row][column] = seat
                    expected = has_four_in_a_row(board, seat)
                    assert bool(line_ends(mine) & _cell(row, column)) == expected


@pytest.mark.parametrize("level", list(Level))
def test_every_level_takes_a_win_in_one_when_it_plays_its_search(level: Level) -> None:
    # Seat 0 has three in the bottom row (columns 0-2); column 3 wins.
    state = replay_log(GAME, alternate("column", [0, 0, 1, 1, 2, 2]))
    careful = replace(DEFAULT_BUDGETS["connect_four"][level], random_move_chance=0.0)

    for seed in range(5):
        assert choose_move("connect_four", state, 0, level, seed, budget=careful) == {"column": 3}


@pytest.mark.parametrize("level", list(Level))
def test_every_level_blocks_a_four_when_it_plays_its_search(level: Level) -> None:
    # Seat 0 has three in column 6 and seat 1 must block on top of them.
    state = replay_log(GAME, alternate("column", [6, 0, 6, 1, 6]))
    careful = replace(DEFAULT_BUDGETS["connect_four"][level], random_move_chance=0.0)

    for seed in range(5):
        assert choose_move("connect_four", state, 1, level, seed, budget=careful) == {"column": 6}


@pytest.mark.parametrize("level", list(Level))
def test_no_level_drops_a_disc_under_the_cell_where_the_other_seat_would_win(
    level: Level,
) -> None:
    """Seat 0 has three in row 1 (columns 1-3) waiting on row 1 of column 0, which is
    empty, as is the cell below it: a disc in column 0 lets seat 0 win on top of it."""
    o, x = 0, 1
    board = [[None, x, x, o, x, None, o], [None, o, o, o, x, None, None]]
    state = {
        "board": board + [[None] * COLUMNS for _ in range(ROWS - 2)],
        "turn": 1,
        "result": None,
    }
    assert _hands_a_win(state, {"column": 0})
    careful = replace(DEFAULT_BUDGETS["connect_four"][level], random_move_chance=0.0)

    for seed in range(5):
        move = choose_move("connect_four", state, 1, level, seed, budget=careful)
        assert not _hands_a_win(state, move), move


def _hands_a_win(state: State, move: dict[str, int]) -> bool:
    """Whether the other seat can make four right after `move` by the seat to move."""
    seat = state["turn"]
    after = GAME.apply(state, seat, move)
    return any(
        GAME.outcome(GAME.apply(after, 1 - seat, reply)) is not None
        for reply in GAME.legal_moves(after, 1 - seat)
    )


def test_hard_beats_easy_in_a_clear_majority_of_seeded_games() -> None:
    results = Counter()
    for seed in range(HARD_VS_EASY_GAMES):
        hard_seat = seed % 2
        movers = [computer("connect_four", Level.EASY, seed)] * 2
        movers[hard_seat] = computer("connect_four", Level.HARD, seed)
        state, _ = play("connect_four", seed, movers[0], movers[1])
        result = winner("connect_four", state)
        results["draw" if result is None else "hard" if result == hard_seat else "easy"] += 1

    rate = results["hard"] / HARD_VS_EASY_GAMES
    print(f"connect four hard against easy: {dict(results)}, hard won {rate:.0%}")
    assert rate >= 0.75
