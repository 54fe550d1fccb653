"""Card-Jitsu by expected value over what the seat may see.

The policy reads only the seat's view: its own hand, both seats' banked cards and the last
round. The opponent's hand, deck order and pending pick stay hidden, so every card that can
still be in the opponent's deck (all of its cards but those banked or just played) is taken
as equally likely to come next. Each card of the own hand is scored by the mean, over those
cards, of how much the round's outcome moves either seat towards a winning set.
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

from clubpengu.games.base import Move, State
from clubpengu.games.card_jitsu import ELEMENTS, VALUES, round_winner, winning_set
from clubpengu.games.computer.levels import Budget
from clubpengu.games.computer.search import pick_best

Card = dict[str, Any]

# A set won ends the game; short of that, an element that would win next time is a threat
# the other seat must cover, and each element and each repeat brings a set nearer.
WON, THREAT, DISTINCT, REPEAT = 1000, 30, 6, 4


def choose(view: State, legal: list[Move], budget: Budget, rng: random.Random) -> Move:
    seat: int = view["seat"]
    mine, theirs = view["banked"][seat], view["banked"][1 - seat]
    hand = {card["id"]: card for card in view["hand"]}
    unseen = _unseen_cards(view, 1 - seat)
    # What each round can change, worked out once per card rather than once per pair.
    now = (progress(mine), progress(theirs))
    gain = {card_id: progress([*mine, card]) - now[0] for card_id, card in hand.items()}
    loss = {other["id"]: now[1] - progress([*theirs, other]) for other in unseen}
    # Scaled by the pool's size so that scores stay whole numbers and ties stay exact.
    scores = [
        sum(_round_value(hand[move["cardId"]], other, gain, loss) for other in unseen)
        for move in legal
    ]
    return pick_best(legal, scores, rng)


def _unseen_cards(view: State, other: int) -> list[Card]:
    """The cards the other seat may still hold or draw: its deck less what it has shown."""
    shown = {card["id"] for card in view["banked"][other]}
    if view["lastRound"] is not None:
        shown.add(view["lastRound"]["cards"][other]["id"])
    return [
        {"id": f"{element}-{value}", "element": element, "value": value}
        for element in ELEMENTS
        for value in VALUES
        if f"{element}-{value}" not in shown
    ]


def _round_value(card: Card, other: Card, gain: dict[str, int], loss: dict[str, int]) -> int:
    """What the round `card` against `other` is worth to the seat playing `card`: what
    banking `card` gains it (`gain`), or what the other seat banking `other` costs it."""
    winner = round_winner(card, other)
    if winner == 0:
        return gain[card["id"]]
    if winner == 1:
        return loss[other["id"]]
    return 0


def progress(banked: list[Card]) -> int:
    """How near these banked cards are to a winning set."""
    if winning_set(banked) is not None:
        return WON
    counts = Counter(card["element"] for card in banked)
    threats = sum(
        1
        for element in ELEMENTS
        if winning_set([*banked, {"id": "", "element": element, "value": 0}]) is not None
    )
    return THREAT * threats + DISTINCT * len(counts) + REPEAT * max(counts.values(), default=0)
