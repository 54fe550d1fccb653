"""How strong the computer plays: a level names a budget per game.

A budget is counted in positions examined, not in seconds, so the same seed gives the same
move on any machine and under any load, and a match against the computer replays exactly.
The node figures below keep the worst position of each game well under a second here
(`scripts/bench_computer.py` prints the worst case per game and level).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum


class Level(StrEnum):
    EASY = "easy"
    NORMAL = "normal"
    HARD = "hard"


@dataclass(frozen=True, slots=True)
class Budget:
    """What one move may cost and how often the computer plays carelessly.

    `depth`: plies searched ahead (a search stops earlier at the end of the game).
    `nodes`: positions examined at most; a search that runs out plays the best move of the
    deepest look-ahead it completed (tic-tac-toe: of a two-ply one).
    `random_move_chance`: the probability of a uniformly random legal move instead of the
    searched one, which is what makes the easy levels beatable.
    """

    depth: int
    nodes: int
    random_move_chance: float

    def __post_init__(self) -> None:
        if self.depth < 1 or self.nodes < 1:
            raise ValueError("a budget needs a depth and a node count of at least 1")
        if not 0.0 <= self.random_move_chance <= 1.0:
            raise ValueError("random_move_chance is a probability, from 0 to 1")


# Tic-tac-toe: depth 2 sees a win and a block but not a fork; depth 9 is the whole game.
# Connect Four: depth 2 blocks a four but walks into two-way threats; hard searches deeper
# with iterative deepening until its nodes run out. Card-Jitsu's policy looks one round
# ahead whatever the depth; its levels differ in how often it plays a random card.
DEFAULT_BUDGETS: dict[str, dict[Level, Budget]] = {
    "tictactoe": {
        Level.EASY: Budget(depth=2, nodes=10_000, random_move_chance=0.3),
        Level.NORMAL: Budget(depth=4, nodes=10_000, random_move_chance=0.1),
        Level.HARD: Budget(depth=9, nodes=20_000, random_move_chance=0.0),
    },
    "connect_four": {
        Level.EASY: Budget(depth=2, nodes=2_000, random_move_chance=0.25),
        Level.NORMAL: Budget(depth=4, nodes=8_000, random_move_chance=0.05),
        Level.HARD: Budget(depth=42, nodes=30_000, random_move_chance=0.0),
    },
    "card_jitsu": {
        Level.EASY: Budget(depth=1, nodes=1_000, random_move_chance=0.6),
        Level.NORMAL: Budget(depth=1, nodes=1_000, random_move_chance=0.2),
        Level.HARD: Budget(depth=1, nodes=1_000, random_move_chance=0.0),
    },
}


def move_seed(match_seed: int, ply: int) -> int:
    """A seed for the computer's move number `ply` of a match: stable across processes and
    Python versions (unlike `hash()`), so a replay of the match draws the same moves."""
    digest = hashlib.blake2b(f"{match_seed}:{ply}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1
