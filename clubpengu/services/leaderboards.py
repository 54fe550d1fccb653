"""Leaderboards per game: this ISO week's (UTC) and all time, by wins, then rating.

- **Kept as matches end, never computed.** A rated match (services/matches/rated.py: two
  players, played out) updates four LeaderboardEntry documents (each player's week and
  all-time entry) and the boards' counts in one transaction with a claim on the Match
  (`leaderboardAt`), so a match counts once whichever node records it, and two matches
  of one player ending at once cannot lose an update (the second transaction conflicts
  and is retried). Computer and rewardless matches count for nothing here: wins from a
  friend who forfeits at once would otherwise climb the board.
- **Cheap at any size.** A rank is 1 + the entries strictly ahead, summed from two count
  maps (leaderboard_counts.py), not counted over the entries: the embedded database
  counts one entry at a time, so a count of the 50,000 players ahead of a middling one
  took seconds. Equal keys share a rank ("competition" ranking: 1, 2, 2, 4). The top 100
  is read from where the counts say it begins, and kept for LEADERBOARD_CACHE_SECONDS
  (the same for every caller; a match recorded on this node drops it at once; past its
  time it is served while a fresh one is read beside the request).
- **Ratings** are Glicko-2 (progression/ratings.py), one per wallet and game, kept on the
  all-time entry; a week's entry shows it as it stood after the week's last rated match.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo import AsyncMongoClient, UpdateOne

from clubpengu.errors import InvalidMessage
from clubpengu.games import GAMES
from clubpengu.models import LeaderboardCounts, LeaderboardEntry, Match
from clubpengu.models.base import utcnow
from clubpengu.progression.ratings import Rating, rate
from clubpengu.services.economy import EconomyService
from clubpengu.services.leaderboard_counts import (
    Key,
    by_rating_id,
    by_wins_id,
    moves,
    rank,
    rating_cut,
    top_wins,
)
from clubpengu.services.matches.rated import is_rated
from clubpengu.services.transaction_runner import Session

logger = logging.getLogger(__name__)
TOP = 100
ALL_TIME = "all"
PERIODS = ("week", ALL_TIME)
RESULTS = ("wins", "losses", "draws")


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
    top: list[Standing]
    me: Standing | None  # the caller's own, when asked and on the board


@dataclass(frozen=True)
class _Top:
    standings: list[Standing]
    until: float


class LeaderboardService:
    def __init__(
        self,
        client: AsyncMongoClient[dict[str, Any]],
        db_name: str,
        economy: EconomyService,
        *,
        min_moves: int = 0,
        cache_seconds: float = 0.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        database = client[db_name]
        self.entries = database[LeaderboardEntry.Settings.name]
        self.counts = database[LeaderboardCounts.Settings.name]
        self.matches = database[Match.Settings.name]
        self.economy = economy
        self.min_moves = min_moves
        self.cache_seconds = cache_seconds
        self.clock = clock
        self._tops: dict[tuple[str, str], _Top] = {}
        self._refreshing: dict[tuple[str, str], asyncio.Task[None]] = {}

    # --- recording ----------------------------------------------------------------------

    async def record(self, match: Match) -> bool:
        """Count a finished match, once: False when it is not rated or already counted."""
        if not is_rated(match, self.min_moves):
            return False
        periods = (ALL_TIME, week_of(match.ended_at or self.clock()))

        async def writes(session: Session) -> bool:
            claimed = await self.matches.update_one(
                {"_id": match.id, "leaderboardAt": None},
                {"$set": {"leaderboardAt": self.clock()}},
                session=session,
            )
            if claimed.matched_count == 0:
                return False
            await self._write(session, match, periods)
            return True

        counted = bool(await self.economy.run_transaction(writes))
        if counted:
            for period in periods:
                self._tops.pop((match.game, period), None)
        return counted

    async def _write(self, session: Session, match: Match, periods: tuple[str, ...]) -> None:
        scope = {"game": match.game, "period": {"$in": list(periods)}}
        cursor = self.entries.find(
            {**scope, "walletAddress": {"$in": match.wallets}}, session=session
        )
        stored = {(doc["period"], doc["walletAddress"]): doc async for doc in cursor}
        ratings = _rated(match, [stored.get((ALL_TIME, wallet)) for wallet in match.wallets])
        names = {player.wallet_address: player.username for player in match.players}
        updates: list[UpdateOne] = []
        counts: dict[str, dict[str, int]] = {}
        for seat, wallet in enumerate(match.wallets):
            result = _result(match, wallet)
            for period in periods:
                before = stored.get((period, wallet))
                name = names.get(wallet) or (before or {}).get("username") or wallet[:8]
                update, after = _entry_update(before, result, ratings[seat], name, self.clock())
                updates.append(
                    UpdateOne({"game": match.game, "period": period, "walletAddress": wallet},
                              update, upsert=True)
                )  # fmt: skip
                for suffix, fields in moves(_key(before), after).items():
                    document = by_wins_id(match.game, period) + (f"|{suffix}" if suffix else "")
                    target = counts.setdefault(document, {})
                    for field, delta in fields.items():
                        target[f"counts.{field}"] = target.get(f"counts.{field}", 0) + delta
        await self.entries.bulk_write(updates, ordered=False, session=session)
        count_updates = [
            UpdateOne({"_id": document}, {"$inc": inc}, upsert=True)
            for document, inc in counts.items()
            if any(inc.values())
        ]
        if count_updates:
            await self.counts.bulk_write(count_updates, ordered=False, session=session)

    # --- reading ------------------------------------------------------------------------

    async def board(self, game: str, period: str, wallet: str | None = None) -> Board:
        """The top 100 of `game` over `period` ("week": this ISO week; "all") and
        `wallet`'s own standing. Raises InvalidMessage."""
        key = self._period_key(game, period)
        top = await self._top(game, key)
        me = None
        if wallet is not None:
            mine = next((s for s in top.standings if s.wallet == wallet), None)
            me = mine or await self._standing_of(game, key, wallet)
        return Board(game, period, key, top.standings, me)

    def _period_key(self, game: str, period: str) -> str:
        if game not in GAMES:
            raise InvalidMessage(f"game: no such game (one of {', '.join(sorted(GAMES))})")
        if period not in PERIODS:
            raise InvalidMessage('period: "week" or "all"')
        return ALL_TIME if period == ALL_TIME else week_of(self.clock())

    async def _top(self, game: str, key: str) -> _Top:
        """The board's top, kept: past its time it is still served while a fresh one is
        read beside the request, so no caller waits for the top but the first."""
        held = self._tops.get((game, key))
        if held is None:
            return await self._read_top(game, key)
        if held.until <= time.monotonic() and (game, key) not in self._refreshing:
            self._refreshing[game, key] = asyncio.create_task(self._refresh(game, key))
        return held

    async def _refresh(self, game: str, key: str) -> None:
        try:
            await self._read_top(game, key)
        except Exception:  # the held top stays; the next request tries again
            logger.exception("leaderboard top not read", extra={"game": game, "period": key})
        finally:
            self._refreshing.pop((game, key), None)

    async def _read_top(self, game: str, key: str) -> _Top:
        by_wins = await self._counts(by_wins_id(game, key))
        scope = {"game": game, "period": key}
        docs: list[dict[str, Any]] = []
        reach = top_wins(by_wins, TOP)
        if reach is not None:
            wins, whole = reach
            # `$gt n - 1`, not `$gte n` (whole numbers): the embedded database's walk of a
            # descending index left out the entries equal to a `$gte` bound.
            if whole:
                docs = await self.entries.find({**scope, "wins": {"$gt": wins - 1}}).to_list()
            else:
                room = TOP - sum(int(n) for k, n in by_wins.items() if int(k) > wins)
                cut = rating_cut(await self._counts(by_rating_id(game, key, wins)), room)
                docs = await self.entries.find({**scope, "wins": {"$gt": wins}}).to_list()
                docs += await self.entries.find(
                    {**scope, "wins": wins, "ratingKey": {"$gt": (cut or 0) - 1}}
                ).to_list()
        docs.sort(key=lambda doc: (-doc["wins"], -doc["ratingKey"], doc["walletAddress"]))
        standings: list[Standing] = []
        for index, doc in enumerate(docs[:TOP]):
            tied = standings and _key(docs[index - 1]) == _key(doc)
            standings.append(_standing(doc, standings[-1].rank if tied else index + 1))
        top = _Top(standings, time.monotonic() + self.cache_seconds)
        if self.cache_seconds > 0:
            self._tops[game, key] = top
        return top

    async def _standing_of(self, game: str, key: str, wallet: str) -> Standing | None:
        """The wallet's entry and rank, read now (three point reads, whatever the rank)."""
        doc = await self.entries.find_one({"game": game, "period": key, "walletAddress": wallet})
        if doc is None:
            return None
        own = _key(doc)
        assert own is not None
        by_wins = await self._counts(by_wins_id(game, key))
        same_wins = await self._counts(by_rating_id(game, key, own[0]))
        return _standing(doc, rank(by_wins, same_wins, own))

    async def _counts(self, document: str) -> dict[str, Any]:
        found = await self.counts.find_one({"_id": document})
        return dict((found or {}).get("counts") or {})


def _rating(doc: dict[str, Any] | None) -> Rating:
    if doc is None:
        return Rating()
    return Rating(doc["rating"], doc["deviation"], doc["volatility"])


def _rated(match: Match, stored: list[dict[str, Any] | None]) -> list[Rating]:
    """Both players' ratings after the match, from their all-time entries."""
    before = [_rating(doc) for doc in stored]
    if match.winner_wallet is None:
        return list(rate(before[0], before[1], draw=True))
    winner = match.wallets.index(match.winner_wallet)
    won, lost = rate(before[winner], before[1 - winner])
    return [won, lost] if winner == 0 else [lost, won]


def _result(match: Match, wallet: str) -> str:
    if match.winner_wallet is None:
        return "draws"
    return "wins" if match.winner_wallet == wallet else "losses"


def _key(doc: dict[str, Any] | None) -> Key | None:
    if doc is None:
        return None
    return int(doc.get("wins", 0)), int(doc.get("ratingKey", round(doc.get("rating", 0))))


def _entry_update(
    before: dict[str, Any] | None,
    result: str,
    rating: Rating,
    username: str,
    now: datetime,
) -> tuple[dict[str, Any], Key]:
    """The entry's update after one more `result`, and its key after it."""
    old = before or {}
    totals = {name: int(old.get(name, 0)) for name in RESULTS}
    totals[result] += 1
    update = {
        "$set": {
            **totals,
            "username": username,
            "rating": rating.rating,
            "ratingKey": round(rating.rating),
            "deviation": rating.deviation,
            "volatility": rating.volatility,
            "updatedAt": now,
        }
    }
    return update, (totals["wins"], round(rating.rating))


def _standing(doc: dict[str, Any], place: int) -> Standing:
    rating = _rating(doc)
    return Standing(
        rank=place,
        wallet=doc["walletAddress"],
        username=doc.get("username", ""),
        wins=int(doc.get("wins", 0)),
        losses=int(doc.get("losses", 0)),
        draws=int(doc.get("draws", 0)),
        rating=rating.rating,
        provisional=rating.provisional,
    )
