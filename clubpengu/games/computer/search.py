"""What the board-game searches share: a node counter that ends a search when its budget
is spent, and the choice among the best-scoring moves."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")

# A won game scores WIN less the plies it takes, so a quicker win scores higher and a loss
# further away scores higher than a near one. Far above any heuristic evaluation.
WIN = 1_000_000


class BudgetSpent(Exception):
    """The search examined as many positions as its budget allows."""


class NodeCounter:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.count = 0

    def tick(self) -> None:
        self.count += 1
        if self.count > self.limit:
            raise BudgetSpent


def pick_best(moves: Sequence[T], scores: Sequence[int], rng: random.Random) -> T:
    """One of the moves with the highest score, drawn with `rng`, so equal moves vary from
    game to game while a seed still decides which."""
    best = max(scores)
    return rng.choice([move for move, score in zip(moves, scores, strict=True) if score == best])
