"""Leaderboards per game: this ISO week's (UTC) and all time, by wins or by rating.

- **Kept as matches end, never computed.** A rated match (services/matches/rated.py: two
  players, played out) updates four LeaderboardEntry documents (each player's week and
  all-time entry) in one transaction with a claim on the Match (`leaderboardAt`), so a
  match counts once whichever node records it, and two matches of one player ending at
  once cannot lose a rating update (the second transaction conflicts and is retried with
  the first one's rating). Computer and rewardless matches count for nothing here: wins
  from a friend who forfeits at once would otherwise climb the board.
- **Cheap at any size.** The top 100 is an index walk (`by_wins`, `by_rating`); a rank is
  1 + the entries strictly ahead, two indexed counts. Equal keys share a rank
  ("competition" ranking: 1, 2, 2, 4).
- **Ratings** are Glicko-2 (progression/ratings.py), one per wallet and game, kept on the
  all-time entry; a week's entry shows it as it stood after the week's last rated match.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pymongo import AsyncMongoClient, UpdateOne

from clubpengu.errors import InvalidMessage
from clubpengu.games import GAMES
from clubpengu.models import LeaderboardEntry, Match, User
from clubpengu.models.base import utcnow
from clubpengu.progression.ratings import Rating, rate
from clubpengu.services.economy import EconomyService
from clubpengu.services.matches.rated import is_rated
from clubpengu.services.transaction_runner import Session

logger = logging.getLogger(__name__)
TOP = 100
ALL_TIME = "all"
PERIODS = ("week", ALL_TIME)
Order = Literal["wins", "rating"]
ORDERS: dict[str, tuple[str, str]] = {"wins": ("wins", "rating"), "rating": ("rating", "wins")}


def week_of(moment: datetime) -> str:
    """The ISO week (UTC) `moment` falls in, as `2026-W49`."""
    year, week, _ = moment.astimezone(UTC).isocalendar()
    return f"{year}-W{week:02d}"


@dataclass(frozen=True)
class Standing:
    rank: int
    wallet: str
    username: str
    wins: int
    losses: int
    draws: int
    rating: float
    provisional: bool

    def public(self) -> dict[str, Any]:
        return {
            "rank": self.rank, "walletAddress": self.wallet, "username": self.username,
            "wins": self.wins, "losses": self.losses, "draws": self.draws,
            "rating": round(self.rating), "provisional": self.provisional,
        }  # fmt: skip


@dataclass(frozen=True)
class Board:
    game: str
    period: str  # "week" or "all"
    key: str  # the stored period: "all" or the week, "2026-W49"
    order: str
    top: list[Standing]
    me: Standing | None  # the caller's own, when asked and on the board


class LeaderboardService:
    def __init__(
        self,
        client: AsyncMongoClient[dict[str, Any]],
        db_name: str,
        economy: EconomyService,
        *,
        min_moves: int = 0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        database = client[db_name]
        self.entries = database[LeaderboardEntry.Settings.name]
        self.matches = database[Match.Settings.name]
        self.users = database[User.Settings.name]
        self.economy = economy
        self.min_moves = min_moves
        self.clock = clock

    # --- recording ----------------------------------------------------------------------

    async def record(self, match: Match) -> bool:
        """Count a finished match, once: False when it is not rated or already counted."""
        if not is_rated(match, self.min_moves):
            return False
        ended = match.ended_at or self.clock()
        periods = (ALL_TIME, week_of(ended))
        names = {p.wallet_address: p.username for p in match.players}

        async def writes(session: Session) -> bool:
            claimed = await self.matches.update_one(
                {"_id": match.id, "leaderboardAt": None},
                {"$set": {"leaderboardAt": self.clock()}},
                session=session,
            )
            if claimed.matched_count == 0:
                return False
            ratings = await self._ratings(session, match)
            updates = _updates(match, ratings, periods, names, self.clock())
            await self.entries.bulk_write(updates, ordered=False, session=session)
            return True

        return bool(await self.economy.run_transaction(writes))

    async def _ratings(self, session: Session, match: Match) -> list[Rating]:
        """Both players' ratings after the match, from their all-time entries."""
        cursor = self.entries.find(
            {"game": match.game, "period": ALL_TIME, "walletAddress": {"$in": match.wallets}},
            {"walletAddress": 1, "rating": 1, "deviation": 1, "volatility": 1},
            session=session,
        )
        stored = {doc["walletAddress"]: doc async for doc in cursor}
        before = [_rating(stored.get(wallet)) for wallet in match.wallets]
        if match.winner_wallet is None:
            return list(rate(before[0], before[1], draw=True))
        winner = match.wallets.index(match.winner_wallet)
        won, lost = rate(before[winner], before[1 - winner])
        return [won, lost] if winner == 0 else [lost, won]

    # --- reading ------------------------------------------------------------------------

    async def board(
        self, game: str, period: str, wallet: str | None = None, order: str = "wins"
    ) -> Board:
        """The top 100 of `game` over `period` ("week": this ISO week; "all") in `order`
        ("wins" or "rating"), and `wallet`'s own standing. Raises InvalidMessage."""
        key = self._period_key(game, period, order)
        first, second = ORDERS[order]
        sort = [(first, -1), (second, -1), ("walletAddress", 1)]
        scope = {"game": game, "period": key}
        docs = await self.entries.find(scope).sort(sort).limit(TOP).to_list()
        top: list[Standing] = []
        for index, doc in enumerate(docs):
            tied = top and _keys(docs[index - 1], order) == _keys(doc, order)
            rank = top[-1].rank if tied else index + 1
            top.append(_standing(doc, rank))
        me = None
        if wallet is not None:
            mine = next((s for s in top if s.wallet == wallet), None)
            me = mine or await self._standing_of(scope, wallet, order)
        return Board(game, period, key, order, top, me)

    def _period_key(self, game: str, period: str, order: str) -> str:
        if game not in GAMES:
            raise InvalidMessage(f"game: no such game (one of {', '.join(sorted(GAMES))})")
        if period not in PERIODS:
            raise InvalidMessage('period: "week" or "all"')
        if order not in ORDERS:
            raise InvalidMessage('by: "wins" or "rating"')
        return ALL_TIME if period == ALL_TIME else week_of(self.clock())

    async def _standing_of(self, scope: dict[str, Any], wallet: str, order: str) -> Standing | None:
        doc = await self.entries.find_one({**scope, "walletAddress": wallet})
        if doc is None:
            return None
        return _standing(doc, await self.rank(scope, doc, order))

    async def rank(self, scope: dict[str, Any], doc: dict[str, Any], order: str) -> int:
        """1 + the entries strictly ahead of `doc`: two counts over the order's index."""
        first, second = ORDERS[order]
        ahead = await self.entries.count_documents({**scope, first: {"$gt": doc[first]}})
        level = await self.entries.count_documents(
            {**scope, first: doc[first], second: {"$gt": doc[second]}}
        )
        return 1 + ahead + level


def _rating(doc: dict[str, Any] | None) -> Rating:
    if doc is None:
        return Rating()
    return Rating(doc["rating"], doc["deviation"], doc["volatility"])


def _updates(
    match: Match,
    ratings: list[Rating],
    periods: tuple[str, ...],
    names: dict[str, str],
    now: datetime,
) -> list[UpdateOne]:
    updates = []
    for seat, wallet in enumerate(match.wallets):
        if match.winner_wallet is None:
            result = "draws"
        else:
            result = "wins" if match.winner_wallet == wallet else "losses"
        rating = ratings[seat]
        for period in periods:
            updates.append(
                UpdateOne(
                    {"game": match.game, "period": period, "walletAddress": wallet},
                    {
                        "$inc": {"wins": 0, "losses": 0, "draws": 0, result: 1},
                        "$set": {
                            "username": names.get(wallet, wallet[:8]),
                            "rating": rating.rating,
                            "deviation": rating.deviation,
                            "volatility": rating.volatility,
                            "updatedAt": now,
                        },
                    },
                    upsert=True,
                )
            )
    return updates


def _keys(doc: dict[str, Any], order: str) -> tuple[Any, Any]:
    first, second = ORDERS[order]
    return doc[first], doc[second]


def _standing(doc: dict[str, Any], rank: int) -> Standing:
    rating = _rating(doc)
    return Standing(
        rank=rank,
        wallet=doc["walletAddress"],
        username=doc.get("username", ""),
        wins=int(doc.get("wins", 0)),
        losses=int(doc.get("losses", 0)),
        draws=int(doc.get("draws", 0)),
        rating=rating.rating,
        provisional=rating.provisional,
    )
