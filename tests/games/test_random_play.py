"""Many random legal games of each kind, played to the end, keep the invariants every game
promises: they end, their outcome is justified by the final state, states and views are plain
JSON, replay rebuilds them, and legal_moves is exactly what apply accepts."""

from __future__ import annotations

import copy
import functools
import json
import random
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest

from clubpengu.errors import DomainError
from clubpengu.games import GAMES, GameOver, Outcome, replay
from clubpengu.games.base import Game, Move, State
from clubpengu.games.card_jitsu import MAX_ROUNDS
from tests.games.support import has_four_in_a_row, has_three_in_a_row

GAMES_PER_KIND = 200
MOVE_BOUND = {"tictactoe": 9, "connect_four": 42, "card_jitsu": 2 * MAX_ROUNDS}
CANDIDATES: dict[str, list[Move]] = {
    "tictactoe": [{"cell": cell} for cell in range(9)],
    "connect_four": [{"column": column} for column in range(7)],
    "card_jitsu": [
        {"cardId": f"{element}-{value}"}
        for element in ("fire", "snow", "water")
        for value in range(2, 13)
    ],
}
GAME_IDS = sorted(GAMES)


@dataclass(frozen=True)
class Played:
    seed: int
    log: list[tuple[int, Move]]
    states: list[State]

    @property
    def final(self) -> State:
        return self.states[-1]


@functools.cache
def _played(game_id: str) -> tuple[Played, ...]:
    """The same random games on every run (a fixed seed), so a failure reproduces."""
    rng = random.Random(f"random-play-{game_id}")
    return tuple(_play_one(GAMES[game_id], rng) for _ in range(GAMES_PER_KIND))


def _play_one(game: Game, rng: random.Random) -> Played:
    """Random seat among those awaited, random legal move; stops one move past the bound
    so an endless game shows up as a failure instead of a hang."""
    seed = rng.randrange(2**63)
    states, log = [game.new_state(seed)], []
    while game.seats_to_move(states[-1]) and len(log) <= MOVE_BOUND[game.id]:
        seat = rng.choice(game.seats_to_move(states[-1]))
        moves = game.legal_moves(states[-1], seat)
        if not moves:
            break
        move = rng.choice(moves)
        log.append((seat, move))
        states.append(game.apply(states[-1], seat, move))
    return Played(seed, log, states)


def _accepts(game: Game, state: State, seat: int, move: Move) -> bool:
    try:
        game.apply(state, seat, move)
    except DomainError:
        return False
    return True


def _justified_tictactoe(state: State, outcome: Outcome) -> bool:
    board = state["board"]
    if outcome.winner is None:
        full = all(cell is not None for cell in board)
        lines = has_three_in_a_row(board, 0) or has_three_in_a_row(board, 1)
        return outcome.reason == "board_full" and full and not lines
    return (
        outcome.reason == "three_in_a_row"
        and has_three_in_a_row(board, outcome.winner)
        and not has_three_in_a_row(board, 1 - outcome.winner)
    )


def _justified_connect_four(state: State, outcome: Outcome) -> bool:
    board = state["board"]
    if outcome.winner is None:
        full = all(cell is not None for row in board for cell in row)
        fours = has_four_in_a_row(board, 0) or has_four_in_a_row(board, 1)
        return outcome.reason == "board_full" and full and not fours
    return (
        outcome.reason == "four_in_a_row"
        and has_four_in_a_row(board, outcome.winner)
        and not has_four_in_a_row(board, 1 - outcome.winner)
    )


def _winning_set(banked: list[dict[str, Any]]) -> str | None:
    counts = Counter(card["element"] for card in banked)
    if counts and max(counts.values()) >= 3:
        return "three_of_a_kind"
    return "three_elements" if len(counts) == 3 else None


def _justified_card_jitsu(state: State, outcome: Outcome) -> bool:
    sets = [_winning_set(banked) for banked in state["banked"]]
    if outcome.winner is None:
        limit = state["roundsPlayed"] == MAX_ROUNDS
        return outcome.reason == "round_limit" and limit and sets == [None, None]
    return (
        sets[outcome.winner] == outcome.reason
        and sets[1 - outcome.winner] is None
        and state["lastRound"]["winner"] == outcome.winner
    )


JUSTIFIED = {
    "tictactoe": _justified_tictactoe,
    "connect_four": _justified_connect_four,
    "card_jitsu": _justified_card_jitsu,
}


@pytest.mark.parametrize("game_id", GAME_IDS)
def test_random_games_end_within_the_bound(game_id: str) -> None:
    game = GAMES[game_id]

    for played in _played(game_id):
        assert game.outcome(played.final) is not None, played.seed
        assert len(played.log) <= MOVE_BOUND[game_id] == game.max_moves
        assert game.to_move(played.final) is None
        assert game.seats_to_move(played.final) == ()


@pytest.mark.parametrize("game_id", GAME_IDS)
def test_random_games_end_with_an_outcome_the_final_state_justifies(game_id: str) -> None:
    game = GAMES[game_id]

    for played in _played(game_id):
        outcome = game.outcome(played.final)
        assert outcome is not None
        assert outcome.winner in (0, 1, None)
        assert JUSTIFIED[game_id](played.final, outcome), (played.seed, outcome)
        assert all(game.outcome(state) is None for state in played.states[:-1])


@pytest.mark.parametrize("game_id", GAME_IDS)
def test_random_games_are_won_by_either_seat(game_id: str) -> None:
    """Guards the other random tests against a sample where every game ends the same way."""
    game = GAMES[game_id]

    outcomes = [game.outcome(played.final) for played in _played(game_id)]

    assert {outcome.winner for outcome in outcomes if outcome is not None} >= {0, 1}


@pytest.mark.parametrize("game_id", GAME_IDS)
def test_every_random_state_and_view_is_plain_json(game_id: str) -> None:
    game = GAMES[game_id]

    for played in _played(game_id):
        for state in played.states:
            assert json.loads(json.dumps(state)) == state
            for seat in (0, 1):
                view = game.view(state, seat)
                assert json.loads(json.dumps(view)) == view
            spectator = game.spectator_view(state)
            assert json.loads(json.dumps(spectator)) == spectator


@pytest.mark.parametrize("game_id", GAME_IDS)
def test_random_games_replay_to_the_same_state(game_id: str) -> None:
    game = GAMES[game_id]

    for played in _played(game_id):
        assert replay(game, played.seed, played.log) == played.final


@pytest.mark.parametrize("game_id", GAME_IDS)
def test_apply_never_changes_the_state_it_was_given(game_id: str) -> None:
    game = GAMES[game_id]

    for played in _played(game_id)[:50]:
        for state, (seat, move) in zip(played.states, played.log, strict=False):
            before = copy.deepcopy(state)
            game.apply(state, seat, move)
            assert state == before


@pytest.mark.parametrize("game_id", GAME_IDS)
def test_legal_moves_are_exactly_the_moves_apply_accepts(game_id: str) -> None:
    game = GAMES[game_id]

    for played in _played(game_id)[:20]:
        for state in played.states:
            for seat in (0, 1):
                accepted = [m for m in CANDIDATES[game_id] if _accepts(game, state, seat, m)]
                legal = game.legal_moves(state, seat)
                assert sorted(map(str, accepted)) == sorted(map(str, legal))


@pytest.mark.parametrize("game_id", GAME_IDS)
def test_every_move_after_a_random_game_ended_is_game_over(game_id: str) -> None:
    game = GAMES[game_id]

    for played in _played(game_id)[:20]:
        for seat in (0, 1):
            for move in CANDIDATES[game_id]:
                with pytest.raises(GameOver):
                    game.apply(played.final, seat, move)
