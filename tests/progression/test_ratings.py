"""Glicko-2 ratings against the worked example of Glickman's paper, and the properties any
match's update keeps."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clubpengu.progression.ratings import (
    MAX_DEVIATION,
    Rating,
    _expected,
    _g,
    idle,
    rate,
    update,
)

# "Example of the Glicko-2 system" (Glickman): a 1500/200 player beats a 1400/30 one, then
# loses to a 1550/100 and a 1700/300 one, in one rating period, with tau 0.5.
PLAYER = Rating(1500.0, 200.0, 0.06)
OPPONENTS = [Rating(1400.0, 30.0), Rating(1550.0, 100.0), Rating(1700.0, 300.0)]
SCORES = [1.0, 0.0, 0.0]

ratings = st.builds(
    Rating,
    rating=st.floats(min_value=100, max_value=3500),
    deviation=st.floats(min_value=20, max_value=350),
    volatility=st.floats(min_value=0.01, max_value=0.2),
)


def test_the_papers_example_gives_the_papers_new_rating() -> None:
    new = update(PLAYER, list(zip(OPPONENTS, SCORES, strict=True)))

    assert new.rating == pytest.approx(1464.06, abs=0.01)
    assert new.deviation == pytest.approx(151.52, abs=0.01)
    assert new.volatility == pytest.approx(0.05999, abs=0.00001)


def test_the_papers_example_gives_the_papers_intermediate_values() -> None:
    phis = [opponent.deviation / 173.7178 for opponent in OPPONENTS]
    mus = [(opponent.rating - 1500) / 173.7178 for opponent in OPPONENTS]

    weights = [_g(phi) for phi in phis]
    expected = [_expected(0.0, mu, weight) for mu, weight in zip(mus, weights, strict=True)]

    assert weights == pytest.approx([0.9955, 0.9531, 0.7242], abs=0.0001)
    assert expected == pytest.approx([0.639, 0.432, 0.303], abs=0.001)
    variance = 1 / sum(w**2 * e * (1 - e) for w, e in zip(weights, expected, strict=True))
    # The paper's 1.7785 comes from its rounded g and E; unrounded it is 1.77898.
    assert variance == pytest.approx(1.7785, abs=0.001)


def test_a_period_without_a_match_only_grows_the_deviation_as_the_paper_says() -> None:
    rested = idle(PLAYER)

    assert rested.rating == PLAYER.rating
    assert rested.volatility == PLAYER.volatility
    assert rested.deviation == pytest.approx(math.hypot(200 / 173.7178, 0.06) * 173.7178)
    assert rested.deviation == pytest.approx(200.27, abs=0.01)
    assert update(PLAYER, []) == rested


def test_a_long_absence_grows_the_deviation_no_further_than_a_newcomers() -> None:
    assert idle(Rating(1800.0, 60.0, 0.06), periods=100_000).deviation == MAX_DEVIATION
    assert idle(PLAYER, periods=0) == PLAYER


def test_a_negative_absence_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        idle(PLAYER, periods=-1)


def test_two_newcomers_move_apart_by_the_same_amount() -> None:
    winner, loser = rate(Rating(), Rating())

    assert winner.rating == pytest.approx(1662.31, abs=0.01)
    assert loser.rating == pytest.approx(1337.69, abs=0.01)
    assert winner.deviation == pytest.approx(loser.deviation) == pytest.approx(290.32, abs=0.01)


def test_a_draw_between_equals_changes_no_rating_and_narrows_both_deviations() -> None:
    first, second = rate(Rating(1600.0, 120.0), Rating(1600.0, 120.0), draw=True)

    assert first.rating == pytest.approx(1600.0) == second.rating
    assert first.deviation < 120.0 and second.deviation < 120.0


def test_a_draw_is_the_same_whichever_seat_is_named_first() -> None:
    a, b = Rating(1700.0, 80.0), Rating(1450.0, 200.0)

    assert rate(a, b, draw=True) == tuple(reversed(rate(b, a, draw=True)))


def test_a_draw_with_a_stronger_player_raises_the_weaker_ones_rating() -> None:
    weaker, stronger = rate(Rating(1400.0, 100.0), Rating(1800.0, 100.0), draw=True)

    assert weaker.rating > 1400.0
    assert stronger.rating < 1800.0


def test_an_upset_gains_more_than_an_expected_win() -> None:
    upset, _ = rate(Rating(1500.0, 100.0), Rating(1900.0, 100.0))
    expected, _ = rate(Rating(1500.0, 100.0), Rating(1100.0, 100.0))

    assert upset.rating - 1500.0 > expected.rating - 1500.0 > 0


def test_a_settled_rating_moves_less_than_a_newcomers_for_the_same_win() -> None:
    settled, _ = rate(Rating(1500.0, 50.0), Rating())
    newcomer, _ = rate(Rating(1500.0, 350.0), Rating())

    assert 0 < settled.rating - 1500.0 < newcomer.rating - 1500.0


@settings(max_examples=300, deadline=None, database=None)
@given(winner=ratings, loser=ratings)
def test_a_win_never_lowers_the_winner_nor_raises_the_loser(winner: Rating, loser: Rating) -> None:
    new_winner, new_loser = rate(winner, loser)

    assert new_winner.rating >= winner.rating
    assert new_loser.rating <= loser.rating
    for new in (new_winner, new_loser):
        assert 0 < new.deviation <= MAX_DEVIATION
        assert 0 < new.volatility < 1


@settings(max_examples=300, deadline=None, database=None)
@given(first=ratings, second=ratings)
def test_a_draw_moves_the_ratings_towards_each_other(first: Rating, second: Rating) -> None:
    new_first, new_second = rate(first, second, draw=True)

    if first.rating < second.rating:
        assert new_first.rating >= first.rating and new_second.rating <= second.rating
    assert all(math.isfinite(value) for value in (new_first.rating, new_second.rating))


@pytest.mark.parametrize(
    "numbers",
    [
        (1500, 0, 0.06),
        (1500, -5, 0.06),
        (1500, 350, 0),
        (math.nan, 350, 0.06),
        (1500, math.inf, 0.06),
    ],
)
def test_a_rating_that_cannot_be_is_refused(numbers: tuple[float, float, float]) -> None:
    with pytest.raises(ValueError):
        Rating(*numbers)


@pytest.mark.parametrize("score", [-0.5, 1.5, 2.0])
def test_a_score_other_than_a_win_draw_or_loss_is_refused(score: float) -> None:
    with pytest.raises(ValueError, match="score"):
        update(PLAYER, [(Rating(), score)])


def test_a_rating_is_provisional_until_its_deviation_settles() -> None:
    assert Rating().provisional
    assert not Rating(1700.0, 90.0).provisional
    assert Rating(1700.0, 90.0).conservative == pytest.approx(1520.0)


def test_a_newcomer_becomes_settled_after_a_season_of_even_results() -> None:
    player, opponent = Rating(), Rating(1500.0, 60.0)
    for game in range(30):
        player, _ = rate(player, opponent) if game % 2 else rate(opponent, player)[::-1]

    assert not player.provisional
    assert abs(player.rating - 1500.0) < 100
