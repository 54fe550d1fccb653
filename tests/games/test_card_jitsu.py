"""Card-Jitsu: the seeded deal, simultaneous picks, the round rules, winning sets, the draw
bound, and what each seat may see."""

from __future__ import annotations

import copy
import random
from collections.abc import Iterator
from typing import Any

import pytest

from clubpengu.games import GameOver, IllegalMove, Outcome
from clubpengu.games.base import State
from clubpengu.games.card_jitsu import GAME, MAX_ROUNDS
from tests.games.support import card, malformed_moves, play

ALL_IDS = sorted(f"{e}-{v}" for e in ("fire", "snow", "water") for v in range(2, 13))


def _state(
    hand0: list[str], hand1: list[str], banked0: tuple[str, ...] = (), banked1: tuple[str, ...] = ()
) -> State:
    """A seed's state with chosen hands and banked cards (its decks are left as dealt)."""
    state = GAME.new_state(0)
    state["hands"] = [[card(i) for i in hand0], [card(i) for i in hand1]]
    state["banked"] = [[card(i) for i in banked0], [card(i) for i in banked1]]
    return state


def _round(state: State, id0: str, id1: str) -> State:
    state = GAME.apply(state, 0, {"cardId": id0})
    return GAME.apply(state, 1, {"cardId": id1})


def _ids(cards: list[dict[str, Any]]) -> list[str]:
    return [c["id"] for c in cards]


def _mirrored_rounds() -> Iterator[State]:
    """Both seats hold the same cards in the same order and play the same card every round,
    so every round is a tie: the only way such a game ends is the round limit."""
    state = GAME.new_state(3)
    state["hands"][1] = copy.deepcopy(state["hands"][0])
    state["decks"][1] = copy.deepcopy(state["decks"][0])
    while GAME.outcome(state) is None:
        first = state["hands"][0][0]["id"]
        state = _round(state, first, first)
        yield state


def test_each_seat_is_dealt_five_cards_from_its_own_full_deck() -> None:
    state = GAME.new_state(1)

    for seat in (0, 1):
        assert len(state["hands"][seat]) == 5
        assert sorted(_ids(state["hands"][seat] + state["decks"][seat])) == ALL_IDS


def test_the_same_seed_deals_the_same_cards() -> None:
    assert GAME.new_state(7) == GAME.new_state(7)


def test_different_seeds_deal_different_cards() -> None:
    assert GAME.new_state(1)["decks"] != GAME.new_state(2)["decks"]


def test_the_deal_of_a_seed_never_changes() -> None:
    """Stored matches are replayed from their seed: a new deal for an old seed breaks them."""
    state = GAME.new_state(1)

    assert _ids(state["hands"][0]) == ["fire-4", "snow-8", "fire-12", "water-10", "water-7"]
    assert _ids(state["hands"][1]) == ["water-5", "water-6", "snow-11", "snow-10", "water-10"]


@pytest.mark.parametrize(
    ("card0", "card1", "winner"),
    [
        ("fire-2", "snow-12", 0),
        ("snow-2", "water-12", 0),
        ("water-2", "fire-12", 0),
        ("snow-12", "fire-2", 1),
        ("water-12", "snow-2", 1),
        ("fire-12", "water-2", 1),
        ("fire-9", "fire-3", 0),
        ("water-3", "water-9", 1),
        ("snow-7", "snow-7", None),
    ],
)
def test_a_round_goes_to_the_stronger_element_then_the_higher_value(
    card0: str, card1: str, winner: int | None
) -> None:
    state = _round(_state([card0], [card1]), card0, card1)

    assert state["lastRound"] == {"cards": [card(card0), card(card1)], "winner": winner}


def test_the_round_winner_banks_the_winning_card() -> None:
    state = _round(_state(["fire-2"], ["snow-12"]), "fire-2", "snow-12")

    assert state["banked"] == [[card("fire-2")], []]


def test_a_tied_round_banks_nothing() -> None:
    state = _round(_state(["snow-7"], ["snow-7"]), "snow-7", "snow-7")

    assert state["banked"] == [[], []]
    assert GAME.outcome(state) is None


def test_used_cards_are_replaced_from_the_players_own_deck() -> None:
    state = GAME.new_state(5)
    hands, decks = copy.deepcopy(state["hands"]), copy.deepcopy(state["decks"])

    state = _round(state, hands[0][2]["id"], hands[1][0]["id"])

    assert state["hands"][0] == hands[0][:2] + hands[0][3:] + [decks[0][0]]
    assert state["hands"][1] == [*hands[1][1:], decks[1][0]]
    assert state["decks"] == [decks[0][1:], decks[1][1:]]


def test_three_banked_cards_of_one_element_win() -> None:
    state = _state(["fire-9"], ["snow-2"], banked0=("fire-2", "fire-3"))

    state = _round(state, "fire-9", "snow-2")

    assert GAME.outcome(state) == Outcome(winner=0, reason="three_of_a_kind")


def test_three_banked_cards_of_different_elements_win() -> None:
    state = _state(["fire-10"], ["water-5"], banked1=("fire-2", "snow-3"))

    state = _round(state, "fire-10", "water-5")

    assert GAME.outcome(state) == Outcome(winner=1, reason="three_elements")


def test_two_cards_each_of_two_elements_do_not_win() -> None:
    state = _state(["snow-9"], ["water-2"], banked0=("fire-2", "fire-3", "snow-2"))

    state = _round(state, "snow-9", "water-2")

    assert len(state["banked"][0]) == 4
    assert GAME.outcome(state) is None


def test_a_game_without_a_winner_is_a_draw_after_the_round_limit() -> None:
    states = list(_mirrored_rounds())

    assert len(states) == MAX_ROUNDS == 28
    assert GAME.outcome(states[-1]) == Outcome(winner=None, reason="round_limit")


def test_hands_stay_at_five_cards_until_the_round_limit() -> None:
    sizes = {len(hand) for state in _mirrored_rounds() for hand in state["hands"]}

    assert sizes == {5}


def test_a_card_not_in_the_hand_is_illegal() -> None:
    state = GAME.new_state(1)
    mine = set(_ids(state["hands"][0]))
    theirs = next(i for i in _ids(state["hands"][1]) if i not in mine)

    with pytest.raises(IllegalMove, match="not in your hand"):
        GAME.apply(state, 0, {"cardId": theirs})


def test_picking_twice_in_a_round_is_illegal() -> None:
    state = GAME.new_state(1)
    state = GAME.apply(state, 0, {"cardId": "fire-4"})

    with pytest.raises(IllegalMove, match="already picked"):
        GAME.apply(state, 0, {"cardId": "snow-8"})


@pytest.mark.parametrize(
    "move",
    [*malformed_moves("cardId", "fire-4"), {"cardId": "x" * 100_000}, {"cardId": "FIRE-4"}],
)
def test_a_malformed_move_is_illegal(move: object) -> None:
    with pytest.raises(IllegalMove):
        GAME.apply(GAME.new_state(1), 0, move)  # type: ignore[arg-type]


def test_both_seats_may_pick_at_the_start_of_a_round() -> None:
    state = GAME.new_state(1)

    assert GAME.to_move(state) is None
    assert GAME.seats_to_move(state) == (0, 1)
    assert len(GAME.legal_moves(state, 1)) == 5


def test_after_one_pick_the_round_waits_for_the_other_seat() -> None:
    state = GAME.apply(GAME.new_state(1), 1, {"cardId": "water-5"})

    assert GAME.to_move(state) == 0
    assert GAME.seats_to_move(state) == (0,)
    assert GAME.legal_moves(state, 1) == []


def test_a_resolved_round_waits_for_both_seats_again() -> None:
    state = _round(GAME.new_state(1), "fire-4", "water-5")

    assert GAME.to_move(state) is None
    assert GAME.seats_to_move(state) == (0, 1)
    assert state["picks"] == [None, None]


def test_a_finished_game_waits_for_nobody() -> None:
    state = _round(_state(["fire-9"], ["snow-2"], banked0=("fire-2", "fire-3")), "fire-9", "snow-2")

    assert GAME.to_move(state) is None
    assert GAME.seats_to_move(state) == ()
    assert GAME.legal_moves(state, 0) == []


@pytest.mark.parametrize("seat", [0, 1])
def test_no_seat_can_pick_after_the_game_ended(seat: int) -> None:
    state = _round(_state(["fire-9"], ["snow-2"], banked0=("fire-2", "fire-3")), "fire-9", "snow-2")
    any_card = state["hands"][seat][0]["id"]

    with pytest.raises(GameOver):
        GAME.apply(state, seat, {"cardId": any_card})


@pytest.mark.parametrize("resolves", [False, True], ids=["first_pick", "second_pick"])
def test_apply_leaves_its_input_unchanged(resolves: bool) -> None:
    state = GAME.new_state(1)
    if resolves:
        state = GAME.apply(state, 0, {"cardId": "fire-4"})
    before = copy.deepcopy(state)

    GAME.apply(state, 1, {"cardId": "water-5"})

    assert state == before


@pytest.mark.parametrize("seed", range(5))
def test_no_state_of_a_whole_game_changes_after_it_was_made(seed: int) -> None:
    """`apply` shares the cards between a state and the next (it copies the lists it
    changes): every state of a game stays as it was made while the game goes on."""
    rng = random.Random(seed)
    states = [GAME.new_state(seed)]
    kept = [copy.deepcopy(states[0])]
    while GAME.outcome(states[-1]) is None:
        state = states[-1]
        for seat in GAME.seats_to_move(state):
            state = GAME.apply(state, seat, rng.choice(GAME.legal_moves(state, seat)))
            states.append(state)
            kept.append(copy.deepcopy(state))
    assert states == kept


def test_the_view_shows_the_own_hand_and_only_counts_of_hidden_cards() -> None:
    state = GAME.new_state(1)

    view = GAME.view(state, 0)

    assert view == {
        "seat": 0,
        "hand": state["hands"][0],
        "pick": None,
        "opponentHandSize": 5,
        "opponentPicked": False,
        "deckSizes": [28, 28],
        "banked": [[], []],
        "roundsPlayed": 0,
        "maxRounds": 28,
        "lastRound": None,
        "result": None,
    }


def test_the_view_does_not_depend_on_the_opponents_hand_or_deck() -> None:
    state = GAME.new_state(1)
    other = copy.deepcopy(state)
    other["hands"][1], other["decks"][1] = (
        GAME.new_state(2)["hands"][1],
        GAME.new_state(2)["decks"][1],
    )

    assert GAME.view(other, 0) == GAME.view(state, 0)
    assert GAME.view(other, 1) != GAME.view(state, 1)


def test_the_view_hides_which_card_the_opponent_picked() -> None:
    state = GAME.new_state(1)

    picked_water = GAME.apply(state, 1, {"cardId": "water-5"})
    picked_snow = GAME.apply(state, 1, {"cardId": "snow-11"})

    assert GAME.view(picked_water, 0) == GAME.view(picked_snow, 0)
    assert GAME.view(picked_water, 0)["opponentPicked"] is True


def test_the_view_shows_the_own_pick() -> None:
    state = GAME.apply(GAME.new_state(1), 1, {"cardId": "water-5"})

    assert GAME.view(state, 1)["pick"] == card("water-5")
    assert "water-5" not in _ids(GAME.view(state, 1)["hand"])


def test_the_view_shows_both_cards_once_the_round_resolves() -> None:
    state = _round(GAME.new_state(1), "fire-4", "water-5")

    assert GAME.view(state, 0)["lastRound"] == {
        "cards": [card("fire-4"), card("water-5")],
        "winner": 1,
    }


def test_a_spectator_sees_no_hand_deck_or_pending_pick() -> None:
    state = GAME.new_state(1)
    other_deal = GAME.new_state(2)

    picked_water = GAME.apply(state, 1, {"cardId": "water-5"})
    picked_snow = GAME.apply(state, 1, {"cardId": "snow-11"})
    resolved = _round(state, "fire-4", "water-5")

    assert GAME.spectator_view(picked_water) == GAME.spectator_view(picked_snow)
    assert GAME.spectator_view(picked_water)["picked"] == [False, True]
    assert GAME.spectator_view(state) == GAME.spectator_view(other_deal)
    assert GAME.spectator_view(state)["handSizes"] == [5, 5]
    assert GAME.spectator_view(resolved)["lastRound"]["cards"] == [
        card("fire-4"), card("water-5"),
    ]  # fmt: skip


def test_replay_rebuilds_a_played_game() -> None:
    state, log = GAME.new_state(11), []
    while GAME.outcome(state) is None:
        for seat in (1, 0):
            move = GAME.legal_moves(state, seat)[-1]
            log.append((seat, move))
            state = GAME.apply(state, seat, move)

    assert play(GAME, log, seed=11) == state
