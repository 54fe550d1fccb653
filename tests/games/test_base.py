"""The shared contract: error classes and their protocol codes, the catalog, replay."""

from __future__ import annotations

import pytest

from clubpengu.errors import Conflict, ErrorCode, Forbidden, InvalidMessage, NotFound
from clubpengu.games import GAMES, GameOver, IllegalMove, NotYourTurn, get_game, replay
from clubpengu.games.base import Game
from tests.games.support import alternate


def test_an_illegal_move_is_reported_as_an_invalid_message() -> None:
    error = IllegalMove("That cell is already taken", cell=4)

    assert isinstance(error, InvalidMessage)
    assert error.code is ErrorCode.INVALID_MESSAGE
    assert str(error) == "That cell is already taken"
    assert "cell" in repr(error)


def test_moving_out_of_turn_is_forbidden() -> None:
    assert issubclass(NotYourTurn, Forbidden)
    assert NotYourTurn().code is ErrorCode.FORBIDDEN


def test_moving_in_a_finished_game_is_a_conflict() -> None:
    assert issubclass(GameOver, Conflict)
    assert GameOver().code is ErrorCode.CONFLICT


def test_the_catalog_holds_the_three_games_by_id() -> None:
    assert sorted(GAMES) == ["card_jitsu", "connect_four", "tictactoe"]
    assert all(game.id == game_id and game.players == 2 for game_id, game in GAMES.items())
    assert all(game.name for game in GAMES.values())


def test_get_game_returns_the_rules_for_an_id() -> None:
    assert get_game("connect_four") is GAMES["connect_four"]


@pytest.mark.parametrize("game_id", ["chess", "", "TICTACTOE", "connect4"])
def test_get_game_refuses_an_unknown_id_as_not_found(game_id: str) -> None:
    with pytest.raises(NotFound):
        get_game(game_id)


def test_replay_applies_the_log_in_order_from_the_seed() -> None:
    game = get_game("tictactoe")

    state = replay(game, 0, alternate("cell", [4, 0, 8]))

    assert state["board"] == [1, None, None, None, 0, None, None, None, 0]
    assert state["turn"] == 1


def test_replay_of_an_empty_log_is_the_initial_state() -> None:
    game = get_game("card_jitsu")

    assert replay(game, 99, []) == game.new_state(99)


def test_replay_raises_what_the_live_game_raises_for_a_bad_log() -> None:
    game = get_game("tictactoe")

    with pytest.raises(NotYourTurn):
        replay(game, 0, [(0, {"cell": 4}), (0, {"cell": 5})])


@pytest.mark.parametrize("game", GAMES.values(), ids=GAMES.keys())
@pytest.mark.parametrize("seat", [2, -1, True, None, "0"])
def test_a_seat_other_than_0_or_1_is_a_caller_bug(game: Game, seat: object) -> None:
    state = game.new_state(0)

    with pytest.raises(ValueError, match="seat"):
        game.apply(state, seat, {})  # type: ignore[arg-type]


@pytest.mark.parametrize("game", GAMES.values(), ids=GAMES.keys())
def test_a_view_for_a_seat_other_than_0_or_1_is_a_caller_bug(game: Game) -> None:
    state = game.new_state(0)

    with pytest.raises(ValueError, match="seat"):
        game.view(state, 2)


@pytest.mark.parametrize("game", GAMES.values(), ids=GAMES.keys())
def test_every_game_has_small_reward_defaults_with_a_draw_worth_less_than_a_win(
    game: Game,
) -> None:
    assert type(game.reward_win) is int and type(game.reward_draw) is int
    assert 0 < game.reward_draw < game.reward_win <= 50


def test_the_reward_defaults_are_the_documented_ones() -> None:
    """The catalogue's figures that docs/configuration.md's table repeats as defaults."""
    rewards = {game_id: (game.reward_win, game.reward_draw) for game_id, game in GAMES.items()}

    assert rewards == {"tictactoe": (10, 5), "connect_four": (20, 10), "card_jitsu": (15, 7)}
