"""LeaderboardEntry: one wallet's standing in one game over one period; LeaderboardCounts:
how many entries of a board hold each key, for ranks without a count query."""

from __future__ import annotations

from datetime import datetime

from beanie import Document
from pydantic import Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from clubpengu.models.base import CAMEL, utcnow
from clubpengu.progression.ratings import START_DEVIATION, START_RATING, START_VOLATILITY


class LeaderboardEntry(Document):
    """A wallet's rated matches in `game` over `period`: `"all"` (all time) or an ISO week
    (`"2026-W49"`, UTC). Kept by incremental updates as rated matches end
    (services/leaderboards.py), never computed by a scan.

    A board is ordered by wins, then by the rating rounded to a whole number
    (`ratingKey`, the number players see), then by wallet. The rating is the wallet's
    Glicko-2 rating in the game, kept on the all-time entry; a week's entry holds a copy
    of it as it stood after the wallet's last rated match of that week.
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
    rating_key: int = round(START_RATING)
    deviation: float = START_DEVIATION
    volatility: float = START_VOLATILITY
    updated_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "leaderboard"
        indexes = [
            IndexModel(
                [("game", ASCENDING), ("period", ASCENDING), ("walletAddress", ASCENDING)],
                name="entry",
                unique=True,
            ),
            # The top of a board: the entries at or above a key found from the counts.
            IndexModel(
                [
                    ("game", ASCENDING),
                    ("period", ASCENDING),
                    ("wins", DESCENDING),
                    ("ratingKey", DESCENDING),
                    ("walletAddress", ASCENDING),
                ],
                name="by_wins",
            ),
        ]


class LeaderboardCounts(Document):
    """How many entries of a board hold each key, packed in one document so that a rank
    is a sum over one read rather than a count over the entries ahead (a count costs the
    embedded database a step per entry it counts).

    `_id` `"<game>|<period>"`: entries by wins (`{"3": 120, "4": 75, …}`);
    `"<game>|<period>|<wins>"`: the entries with those wins by `ratingKey`. Changed by
    `$inc` in the transaction that changes the entries.
    """

    model_config = CAMEL

    id: str  # type: ignore[assignment]
    counts: dict[str, int] = Field(default_factory=dict)

    class Settings:
        name = "leaderboard_counts"
