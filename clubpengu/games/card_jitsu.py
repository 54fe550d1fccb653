"""Card-Jitsu: both players pick a card at once; element beats element, else value decides.

Fire beats snow, snow beats water, water beats fire; with the same element the higher value
wins, and the same element and value is a tie. The round's winner banks their own card.
Three banked cards of one element, or one of each element, win the game.

Each seat has its own deck: the 33 cards (3 elements x values 2..12, id `"fire-7"`),
shuffled from the seed, seat 0's first. Five are dealt to the hand, and each resolved round
refills the hand from the deck. After `MAX_ROUNDS` (28) rounds the decks are empty and the
game is a draw ("round_limit"), so the hand is always five cards and no game is endless.

Turns: a round waits for both seats. `to_move` is None when neither has picked (both may
act) and the seat still to pick once one has; `seats_to_move` lists the seats awaited.

State: `hands`, `decks` (undealt cards, next first), `picks` (the card each seat picked
this round, or None), `banked`, `roundsPlayed`, `lastRound` (`{"cards", "winner"}` of the
round just resolved, or None) and `result`. `view` hides the opponent's hand, deck and
pick, and both decks' order.
"""

from __future__ import annotations

import copy
import random
from collections import Counter
from typing import Any

from clubpengu.games.base import (
    SEATS,
    GameOver,
    IllegalMove,
    Move,
    Outcome,
    State,
    check_seat,
    move_value,
    result,
    stored_outcome,
)

ELEMENTS = ("fire", "snow", "water")
BEATS = {"fire": "snow", "snow": "water", "water": "fire"}
VALUES = range(2, 13)
HAND_SIZE = 5
DECK_SIZE = len(ELEMENTS) * len(VALUES)
MAX_ROUNDS = DECK_SIZE - HAND_SIZE
# Longer than any real id ("water-12"), short enough to put in a log line.
MAX_CARD_ID_LENGTH = 16

Card = dict[str, Any]


class CardJitsu:
    """Simultaneous rounds; `apply` refuses a card not in the hand, or a second pick in
    one round, with IllegalMove."""

    id = "card_jitsu"
    name = "Card-Jitsu"
    players = 2
    max_moves = 2 * MAX_ROUNDS  # one pick per seat per round
    # About five rounds, and luck deals the cards: less than Connect Four. A draw takes all
    # 28 rounds, so its reward is rarely paid.
    reward_win = 15
    reward_draw = 7

    def new_state(self, seed: int) -> State:
        """Both decks come from one `random.Random(seed)`, so a replay deals the same cards."""
        rng = random.Random(seed)
        decks = []
        for _ in SEATS:
            deck = _full_deck()
            rng.shuffle(deck)
            decks.append(deck)
        return {
            "hands": [deck[:HAND_SIZE] for deck in decks],
            "decks": [deck[HAND_SIZE:] for deck in decks],
            "picks": [None, None],
            "banked": [[], []],
            "roundsPlayed": 0,
            "lastRound": None,
            "result": None,
        }

    def apply(self, state: State, seat: int, move: Move) -> State:
        """Picking a card; the second pick of a round resolves the round."""
        check_seat(seat)
        if state["result"] is not None:
            raise GameOver()
        if state["picks"][seat] is not None:
            raise IllegalMove("You already picked a card this round")
        card_id = _card_id(move)
        new = _copy_for_a_pick(state)
        hand: list[Card] = new["hands"][seat]
        card = next((card for card in hand if card["id"] == card_id), None)
        if card is None:
            raise IllegalMove("That card is not in your hand", card_id=card_id)
        hand.remove(card)
        new["picks"][seat] = card
        if all(pick is not None for pick in new["picks"]):
            _resolve(new)
        return new

    def outcome(self, state: State) -> Outcome | None:
        return stored_outcome(state)

    def to_move(self, state: State) -> int | None:
        """The one seat still to pick, or None when both may (or the game is over)."""
        waiting = self.seats_to_move(state)
        return waiting[0] if len(waiting) == 1 else None

    def seats_to_move(self, state: State) -> tuple[int, ...]:
        if state["result"] is not None:
            return ()
        return tuple(seat for seat in SEATS if state["picks"][seat] is None)

    def legal_moves(self, state: State, seat: int) -> list[Move]:
        if check_seat(seat) not in self.seats_to_move(state):
            return []
        return [{"cardId": card["id"]} for card in state["hands"][seat]]

    def view(self, state: State, seat: int) -> State:
        """Only counts of the opponent's hidden cards; the decks' order stays server-side."""
        other = 1 - check_seat(seat)
        return copy.deepcopy(
            {
                "seat": seat,
                "hand": state["hands"][seat],
                "pick": state["picks"][seat],
                "opponentHandSize": len(state["hands"][other]),
                "opponentPicked": state["picks"][other] is not None,
                "deckSizes": [len(deck) for deck in state["decks"]],
                "banked": state["banked"],
                "roundsPlayed": state["roundsPlayed"],
                "maxRounds": MAX_ROUNDS,
                "lastRound": state["lastRound"],
                "result": state["result"],
            }
        )

    def spectator_view(self, state: State) -> State:
        """Banked cards and the last round only: no hand, deck or pending pick."""
        return copy.deepcopy(
            {
                "handSizes": [len(hand) for hand in state["hands"]],
                "picked": [pick is not None for pick in state["picks"]],
                "deckSizes": [len(deck) for deck in state["decks"]],
                "banked": state["banked"],
                "roundsPlayed": state["roundsPlayed"],
                "maxRounds": MAX_ROUNDS,
                "lastRound": state["lastRound"],
                "result": state["result"],
            }
        )


def _copy_for_a_pick(state: State) -> State:
    """`state` with new copies of the lists a pick and its round change (hands, decks,
    picks, banked); the cards themselves are shared, since nothing changes a card (a
    deep copy of the 66 cards was most of a pick's cost)."""
    return {
        **state,
        "hands": [list(hand) for hand in state["hands"]],
        "decks": [list(deck) for deck in state["decks"]],
        "picks": list(state["picks"]),
        "banked": [list(banked) for banked in state["banked"]],
    }


def _full_deck() -> list[Card]:
    return [
        {"id": f"{element}-{value}", "element": element, "value": value}
        for element in ELEMENTS
        for value in VALUES
    ]


def _card_id(move: object) -> str:
    card_id = move_value(move, "cardId")
    if type(card_id) is not str or not 0 < len(card_id) <= MAX_CARD_ID_LENGTH:
        raise IllegalMove("cardId must be the id of a card in your hand")
    return card_id


def _resolve(state: State) -> None:
    """Bank the round's winning card, refill both hands and decide whether the game ended."""
    cards: list[Card] = state["picks"]
    winner = round_winner(cards[0], cards[1])
    if winner is not None:
        state["banked"][winner].append(cards[winner])
    state["lastRound"] = {"cards": cards, "winner": winner}
    state["picks"] = [None, None]
    state["roundsPlayed"] += 1
    for seat in SEATS:
        if state["decks"][seat]:
            state["hands"][seat].append(state["decks"][seat].pop(0))
    state["result"] = _result(state, winner)


def round_winner(card0: Card, card1: Card) -> int | None:
    """Seat 0 or 1 for the card that wins, None for a tie (same element and value)."""
    if BEATS[card0["element"]] == card1["element"]:
        return 0
    if BEATS[card1["element"]] == card0["element"]:
        return 1
    if card0["value"] != card1["value"]:
        return 0 if card0["value"] > card1["value"] else 1
    return None


def _result(state: State, winner: int | None) -> dict[str, Any] | None:
    if winner is not None:
        reason = winning_set(state["banked"][winner])
        if reason is not None:
            return result(winner, reason)
    if state["roundsPlayed"] >= MAX_ROUNDS:
        return result(None, "round_limit")
    return None


def winning_set(banked: list[Card]) -> str | None:
    """The reason these banked cards win, if they do.

    Checked after every banked card, so at most one reason can newly hold: a third card of
    an element cannot also be the first of the missing one.
    """
    counts = Counter(card["element"] for card in banked)
    if any(count >= 3 for count in counts.values()):
        return "three_of_a_kind"
    if len(counts) == len(ELEMENTS):
        return "three_elements"
    return None


GAME = CardJitsu()
