"""A move computed with a cap on the positions it may examine (`choose_move`'s `at_most`,
how the node computes small moves on its event loop) is either exactly the move the
whole budget gives or SearchTooLong: never a different, weaker move."""

from __future__ import annotations

import pytest

from clubpengu.games import GAMES
from clubpengu.games.computer import Level, SearchTooLong, choose_move
from clubpengu.games.computer import tictactoe as tictactoe_search
from tests.games.computer_support import random_position

POSITIONS = 40
CAPS = (1, 10, 100, 1000)


@pytest.mark.parametrize("level", list(Level))
@pytest.mark.parametrize("game_id", sorted(GAMES))
def test_a_capped_search_plays_the_whole_budgets_move_or_gives_up(
    game_id: str, level: Level
) -> None:
    tictactoe_search.solve()
    outcomes: dict[int, list[bool]] = {cap: [] for cap in CAPS}
    for number in range(POSITIONS):
        state, seat = random_position(game_id, number, length=number % 12)
        whole = choose_move(game_id, state, seat, level, number)
        for cap in CAPS:
            try:
                capped = choose_move(game_id, state, seat, level, number, at_most=cap)
            except SearchTooLong:
                outcomes[cap].append(False)
                continue
            assert capped == whole, (game_id, level, number, cap)
            outcomes[cap].append(True)
    # Not vacuous: the largest cap computes moves, and a search that needs many positions
    # (connect four's normal and hard) gives up under the smallest.
    assert any(outcomes[1000])
    if game_id == "connect_four" and level != Level.EASY:
        assert not all(outcomes[1])


def test_tictactoe_gives_up_rather_than_solve_the_game_on_the_loop() -> None:
    """Exact values need the whole game solved first (0.1 s): until `solve` has run in
    the process, a capped move that would need them is SearchTooLong."""
    state, seat = random_position("tictactoe", 7, length=6)  # depth 9 reaches the end
    if not tictactoe_search._solved:
        with pytest.raises(SearchTooLong):
            choose_move("tictactoe", state, seat, Level.HARD, 7, at_most=1000)
    tictactoe_search.solve()
    assert choose_move("tictactoe", state, seat, Level.HARD, 7, at_most=1000) == choose_move(
        "tictactoe", state, seat, Level.HARD, 7
    )
