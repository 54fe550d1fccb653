"""LeaderboardEntry: one wallet's standing in one game over one period."""

from __future__ import annotations

from datetime import datetime

from beanie import Document
from pydantic import Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from clubpengu.models.base import CAMEL, utcnow
from clubpengu.progression.ratings import START_DEVIATION, START_RATING, START_VOLATILITY


def _order(first: str, second: str) -> list[tuple[str, int]]:
    return [("game", ASCENDING), ("period", ASCENDING), (first, DESCENDING),
            (second, DESCENDING), ("walletAddress", ASCENDING)]  # fmt: skip


class LeaderboardEntry(Document):
    """A wallet's rated matches in `game` over `period`: `"all"` (all time) or an ISO week
    (`"2026-W49"`, UTC). Kept by incremental updates as rated matches end
    (services/leaderboards.py), never computed by a scan.

    The rating is the wallet's Glicko-2 rating in the game, kept on the all-time entry;
    a week's entry holds a copy of it as it stood after the wallet's last rated match of
    that week. Each board is read in one of two orders, each with its index, so that the
    top 100 is an index walk and a rank is an indexed count of the entries ahead.
    """

    model_config = CAMEL

    game: str
    period: str
    wallet_address: str
    username: str
    wins: int = 0
    losses: int = 0
    draws: int = 0
    rating: float = START_RATING
    deviation: float = START_DEVIATION
    volatility: float = START_VOLATILITY
    updated_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "leaderboard"
        # The sort indexes end with the wallet: the top 100's order is total, so no tie
        # is broken by the database's whim.
        indexes = [
            IndexModel(
                [("game", ASCENDING), ("period", ASCENDING), ("walletAddress", ASCENDING)],
                name="entry",
                unique=True,
            ),
            IndexModel(_order("wins", "rating"), name="by_wins"),
            IndexModel(_order("rating", "wins"), name="by_rating"),
        ]
