"""The tic-tac-toe computer: hard never loses, whatever its opponent plays; lower levels
make the mistakes that let a person win."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest

from clubpengu.games.base import State
from clubpengu.games.computer import DEFAULT_BUDGETS, Budget, Level, choose_move
from clubpengu.games.tictactoe import GAME
from tests.games.computer_support import computer, play, random_mover, winner
from tests.games.support import alternate
from tests.games.support import play as replay_log


def _worst_result_for_hard(state: State, hard_seat: int, seed: int) -> int:
    """Every line of play the opponent can choose, against hard's answers: +1 if hard can
    be made to lose, 0 for a draw at worst, -1 if hard wins every line."""
    outcome = GAME.outcome(state)
    if outcome is not None:
        if outcome.winner is None:
            return 0
        return -1 if outcome.winner == hard_seat else 1
    seat = state["turn"]
    if seat == hard_seat:
        move = choose_move("tictactoe", state, seat, Level.HARD, seed)
        return _worst_result_for_hard(GAME.apply(state, seat, move), hard_seat, seed)
    return max(
        _worst_result_for_hard(GAME.apply(state, seat, move), hard_seat, seed)
        for move in GAME.legal_moves(state, seat)
    )


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("hard_seat", [0, 1])
def test_hard_never_loses_against_any_line_of_play(hard_seat: int, seed: int) -> None:
    assert _worst_result_for_hard(GAME.new_state(0), hard_seat, seed) <= 0


@pytest.mark.parametrize("hard_seat", [0, 1])
def test_hard_never_loses_against_random_play_and_beats_it_mostly(hard_seat: int) -> None:
    results = Counter()
    for seed in range(200):
        movers = [random_mover("tictactoe", seed), random_mover("tictactoe", seed)]
        movers[hard_seat] = computer("tictactoe", Level.HARD, seed)
        state, _ = play("tictactoe", seed, movers[0], movers[1])
        results[winner("tictactoe", state)] += 1

    print(f"hard in seat {hard_seat} against random play: {dict(results)}")
    assert results[1 - hard_seat] == 0
    assert results[hard_seat] >= 140


def test_hard_against_itself_always_draws() -> None:
    for seed in range(30):
        hard = computer("tictactoe", Level.HARD, seed)

        state, moves = play("tictactoe", seed, hard, hard)

        assert winner("tictactoe", state) is None
        assert moves == 9


def test_easy_loses_to_hard_in_some_games_and_never_wins() -> None:
    results = Counter()
    for seed in range(60):
        hard, easy = (
            computer("tictactoe", Level.HARD, seed),
            computer("tictactoe", Level.EASY, seed),
        )
        seats = (hard, easy) if seed % 2 == 0 else (easy, hard)
        state, _ = play("tictactoe", seed, *seats)
        result = winner("tictactoe", state)
        results["draw" if result is None else "hard" if result == seed % 2 else "easy"] += 1

    print(f"tic-tac-toe hard against easy: {dict(results)}")
    assert results["hard"] >= 10
    assert results["easy"] == 0


@pytest.mark.parametrize("level", list(Level))
def test_every_level_takes_a_win_in_one_when_it_plays_its_search(level: Level) -> None:
    """With its random moves turned off: any depth from two sees a win in one."""
    # X X . / O O . / . . .  with seat 0 to move: cell 2 wins.
    state = replay_log(GAME, alternate("cell", [0, 3, 1, 4]))
    careful = replace(DEFAULT_BUDGETS["tictactoe"][level], random_move_chance=0.0)

    assert choose_move("tictactoe", state, 0, level, 5, budget=careful) == {"cell": 2}


def test_easy_blocks_a_line_when_it_plays_its_search() -> None:
    # X . . / O O . / X . .  with seat 0 to move: cell 5 blocks.
    state = replay_log(GAME, alternate("cell", [0, 3, 6, 4]))
    careful = Budget(depth=2, nodes=100, random_move_chance=0.0)

    assert choose_move("tictactoe", state, 0, Level.EASY, 5, budget=careful) == {"cell": 5}


def test_hard_plays_a_best_move_in_every_position_a_game_can_reach() -> None:
    """Judged by a solver written here from the rules alone, not by the computer's table:
    hard's move keeps a won position won and a drawn one drawn, everywhere."""
    solved = _solve_all()

    for board, value in solved.items():
        state = {"board": list(board), "turn": _turn(board), "result": None}
        move = choose_move("tictactoe", state, state["turn"], Level.HARD, len(board))
        assert _for_mover(GAME.apply(state, state["turn"], move), solved) == value, board


Solved = dict[tuple[int | None, ...], int]


def _turn(board: tuple[int | None, ...]) -> int:
    return 0 if board.count(0) == board.count(1) else 1


def _solve_all() -> Solved:
    """+1, 0 or -1 for the seat to move in every running position, by plain minimax."""
    solved: Solved = {}

    def solve(state: State) -> int:
        board = tuple(state["board"])
        if board not in solved:
            seat = state["turn"]
            results = []
            for move in GAME.legal_moves(state, seat):
                after = GAME.apply(state, seat, move)
                outcome = GAME.outcome(after)
                if outcome is None:
                    results.append(-solve(after))
                else:
                    results.append(0 if outcome.winner is None else 1)
            solved[board] = max(results)
        return solved[board]

    solve(GAME.new_state(0))
    return solved


def _for_mover(after: State, solved: Solved) -> int:
    """The result, for the seat that just moved, of the position its move made."""
    outcome = GAME.outcome(after)
    if outcome is not None:
        return 0 if outcome.winner is None else 1
    return -solved[tuple(after["board"])]
