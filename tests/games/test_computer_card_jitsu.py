"""The Card-Jitsu computer: its choice depends only on what its seat may see, it completes
a set and blocks one, and hard beats random play."""

from __future__ import annotations

import copy
import random
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clubpengu.games.base import State
from clubpengu.games.card_jitsu import GAME
from clubpengu.games.computer import Budget, Level, choose_move
from tests.games.computer_support import computer, play, random_mover, random_position, winner
from tests.games.support import card

RANDOM_GAMES = 400
RANDOM_PLAY = Budget(depth=1, nodes=1, random_move_chance=1.0)


def _reshuffled_hidden_cards(state: State, seat: int, rng: random.Random) -> State:
    """Another state that `seat` cannot tell from `state`: the other seat's hand, deck and
    pending pick dealt anew from the same cards, and the seat's own deck reordered."""
    other = 1 - seat
    changed = copy.deepcopy(state)
    pick = changed["picks"][other]
    unseen = changed["hands"][other] + changed["decks"][other] + ([pick] if pick else [])
    rng.shuffle(unseen)
    if pick is not None:
        changed["picks"][other] = unseen.pop()
    size = len(changed["hands"][other])
    changed["hands"][other], changed["decks"][other] = unseen[:size], unseen[size:]
    rng.shuffle(changed["decks"][seat])
    return changed


@pytest.mark.parametrize("level", list(Level))
def test_the_computer_picks_the_same_card_whatever_it_cannot_see(level: Level) -> None:
    @settings(max_examples=120, deadline=None, database=None)
    @given(
        seed=st.integers(min_value=0, max_value=2**63 - 1),
        length=st.integers(min_value=0, max_value=GAME.max_moves),
        reshuffle=st.integers(min_value=0, max_value=2**32),
    )
    def check(seed: int, length: int, reshuffle: int) -> None:
        state, seat = random_position("card_jitsu", seed, length)
        twin = _reshuffled_hidden_cards(state, seat, random.Random(reshuffle))
        assert GAME.view(twin, seat) == GAME.view(state, seat)

        move = choose_move("card_jitsu", state, seat, level, seed)

        assert choose_move("card_jitsu", twin, seat, level, seed) == move

    check()


def test_the_reshuffle_changes_what_the_computer_cannot_see() -> None:
    """Guards the test above: the twin states do differ, in hidden cards only."""
    state, seat = random_position("card_jitsu", 11, 5)

    twin = _reshuffled_hidden_cards(state, seat, random.Random(1))

    assert twin["hands"][1 - seat] != state["hands"][1 - seat]
    assert twin["decks"] != state["decks"]


def _state(hand: list[str], mine: list[str], theirs: list[str], seat: int = 0) -> State:
    state = GAME.new_state(0)
    state["hands"][seat] = [card(i) for i in hand]
    state["banked"][seat] = [card(i) for i in mine]
    state["banked"][1 - seat] = [card(i) for i in theirs]
    return state


@pytest.mark.parametrize("seat", [0, 1])
def test_hard_plays_the_card_most_likely_to_complete_its_set(seat: int) -> None:
    state = _state(
        ["water-2", "fire-12", "water-3", "snow-4", "snow-5"], ["fire-2", "fire-3"], [], seat
    )

    for seed in range(5):
        assert choose_move("card_jitsu", state, seat, Level.HARD, seed) == {"cardId": "fire-12"}


@pytest.mark.parametrize("seat", [0, 1])
def test_hard_blocks_the_element_that_would_complete_the_other_seats_set(seat: int) -> None:
    """The other seat has fire and snow banked, so a water card of theirs that wins ends
    the game: snow beats water, every fire card loses to it."""
    state = _state(
        ["fire-12", "fire-11", "fire-10", "fire-9", "snow-2"], [], ["fire-5", "snow-5"], seat
    )

    for seed in range(5):
        assert choose_move("card_jitsu", state, seat, Level.HARD, seed) == {"cardId": "snow-2"}


def test_hard_beats_random_play_in_a_clear_majority_of_seeded_games() -> None:
    results = Counter()
    for seed in range(RANDOM_GAMES):
        hard_seat = seed % 2
        movers = [random_mover("card_jitsu", seed)] * 2
        movers[hard_seat] = computer("card_jitsu", Level.HARD, seed)
        state, _ = play("card_jitsu", seed, movers[0], movers[1])
        result = winner("card_jitsu", state)
        results["draw" if result is None else "hard" if result == hard_seat else "random"] += 1

    rate = results["hard"] / RANDOM_GAMES
    print(f"card-jitsu hard against random play: {dict(results)}, hard won {rate:.0%}")
    assert rate >= 0.6


def test_the_stand_in_for_random_play_picks_every_card_of_the_hand_across_seeds() -> None:
    """Guards the test above: the stand-in for random play really plays at random."""
    state = GAME.new_state(4)
    picks = {
        choose_move("card_jitsu", state, 0, Level.HARD, seed, budget=RANDOM_PLAY)["cardId"]
        for seed in range(60)
    }

    assert len(picks) == 5
