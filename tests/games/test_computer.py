"""The computer opponent in every game: always a legal move, at every level and in either
seat; the same move for the same seed; its input left alone; pure enough for a process pool."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clubpengu.errors import DomainError, NotFound
from clubpengu.games import GAMES
from clubpengu.games.computer import DEFAULT_BUDGETS, Budget, Level, choose_move, move_seed
from tests.games.computer_support import computer, play, random_mover, random_position

GAME_IDS = sorted(GAMES)
SEEDS = st.integers(min_value=0, max_value=2**63 - 1)
# Hard Connect Four costs up to ~150 ms a move here; the other cases well under 10 ms.
EXAMPLES = {"connect_four": 30}


def _legal_and_accepted(game_id: str, seed: int, length: int, level: Level) -> None:
    game = GAMES[game_id]
    state, seat = random_position(game_id, seed, length)

    move = choose_move(game_id, state, seat, level, seed)

    assert move in game.legal_moves(state, seat)
    try:
        game.apply(state, seat, move)
    except DomainError as error:  # pragma: no cover - the failure message is the point
        pytest.fail(f"{game_id} refused the computer's move {move}: {error!r}")


@pytest.mark.parametrize("level", list(Level))
@pytest.mark.parametrize("game_id", GAME_IDS)
def test_the_computer_plays_a_legal_move_in_any_reachable_position(
    game_id: str, level: Level
) -> None:
    @settings(max_examples=EXAMPLES.get(game_id, 150), deadline=None, database=None)
    @given(seed=SEEDS, length=st.integers(min_value=0, max_value=GAMES[game_id].max_moves))
    def check(seed: int, length: int) -> None:
        _legal_and_accepted(game_id, seed, length, level)

    check()


@pytest.mark.parametrize("seat", [0, 1])
@pytest.mark.parametrize("level", list(Level))
@pytest.mark.parametrize("game_id", GAME_IDS)
def test_whole_games_against_random_play_only_ever_get_legal_moves_from_the_computer(
    game_id: str, level: Level, seat: int
) -> None:
    games = 6 if game_id == "connect_four" and level == Level.HARD else 25

    for seed in range(games):
        movers = [random_mover(game_id, seed), random_mover(game_id, seed)]
        movers[seat] = computer(game_id, level, seed)

        state, moves = play(game_id, seed, movers[0], movers[1])

        assert GAMES[game_id].outcome(state) is not None
        assert moves <= GAMES[game_id].max_moves


@pytest.mark.parametrize("game_id", GAME_IDS)
def test_the_same_seed_gives_the_same_move(game_id: str) -> None:
    for seed in range(30):
        state, seat = random_position(game_id, seed, seed % 12)
        level = list(Level)[seed % 3]

        first = choose_move(game_id, state, seat, level, seed)

        assert choose_move(game_id, copy.deepcopy(state), seat, level, seed) == first


@pytest.mark.parametrize("game_id", GAME_IDS)
def test_the_seed_varies_the_moves_between_games(game_id: str) -> None:
    """Among equally good moves, the seed picks: games against the computer are not all alike."""
    state = GAMES[game_id].new_state(1)

    moves = {str(choose_move(game_id, state, 0, Level.EASY, seed)) for seed in range(40)}

    assert len(moves) > 1


@pytest.mark.parametrize("game_id", GAME_IDS)
def test_choosing_a_move_leaves_the_state_unchanged(game_id: str) -> None:
    for seed in range(10):
        state, seat = random_position(game_id, seed, 2 * seed)
        before = copy.deepcopy(state)

        choose_move(game_id, state, seat, Level.HARD, seed)

        assert state == before


def test_an_unknown_game_is_not_found() -> None:
    with pytest.raises(NotFound):
        choose_move("chess", {}, 0, Level.HARD, 1)


def test_an_unknown_level_is_refused() -> None:
    state = GAMES["tictactoe"].new_state(0)

    with pytest.raises(ValueError, match="expert"):
        choose_move("tictactoe", state, 0, "expert", 1)


@pytest.mark.parametrize("game_id", GAME_IDS)
def test_asking_for_a_move_from_a_seat_that_just_moved_is_a_caller_bug(game_id: str) -> None:
    """After its move a seat waits: for the other's turn, or for the other's card."""
    game = GAMES[game_id]
    state = game.new_state(0)
    after = game.apply(state, 0, game.legal_moves(state, 0)[0])

    with pytest.raises(ValueError, match="no move"):
        choose_move(game_id, after, 0, "hard", 1)


@pytest.mark.parametrize("game_id", GAME_IDS)
def test_asking_for_a_move_in_a_finished_game_is_a_caller_bug(game_id: str) -> None:
    state, _ = play(game_id, 3, random_mover(game_id, 3), random_mover(game_id, 4))

    for seat in (0, 1):
        with pytest.raises(ValueError, match="no move"):
            choose_move(game_id, state, seat, "easy", 1)


@pytest.mark.parametrize("game_id", GAME_IDS)
def test_a_budget_of_one_node_still_gives_a_legal_move(game_id: str) -> None:
    tiny = Budget(depth=42, nodes=1, random_move_chance=0.0)
    for seed in range(20):
        state, seat = random_position(game_id, seed, seed)

        move = choose_move(game_id, state, seat, Level.HARD, seed, budget=tiny)

        assert move in GAMES[game_id].legal_moves(state, seat)


def test_every_game_has_a_budget_for_every_level() -> None:
    assert set(DEFAULT_BUDGETS) == set(GAMES)
    assert all(set(levels) == set(Level) for levels in DEFAULT_BUDGETS.values())


@pytest.mark.parametrize(
    "arguments",
    [(0, 10, 0.0), (3, 0, 0.0), (3, 10, -0.1), (3, 10, 1.5)],
    ids=["no_depth", "no_nodes", "negative_chance", "chance_above_one"],
)
def test_a_budget_out_of_range_is_refused(arguments: tuple[int, int, float]) -> None:
    with pytest.raises(ValueError):
        Budget(*arguments)


def test_move_seeds_are_stable_distinct_and_fit_in_int64() -> None:
    seeds = [move_seed(12345, ply) for ply in range(100)]

    assert move_seed(12345, 0) == seeds[0]
    assert len(set(seeds)) == 100
    assert all(0 <= seed < 2**63 for seed in seeds)
    assert move_seed(7, 3) == 6148384659390418248
