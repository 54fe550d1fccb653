"""The gates of a wagered challenge, and the daily counters that the settlement keeps for
them (a farm of fresh wallets cannot use wagers as a pipe: docs/economy.md).

A challenge with a wager above 0 needs both wallets to be at least WAGER_MIN_ACCOUNT_AGE
old (from their first sign-in) and to have finished WAGER_MIN_MATCHES free matches as
played (`User.freeMatches`); else `wager_locked`. And the wager must fit today's room:
what wagers moved between the two (WAGER_PAIR_DAILY_LIMIT) and what each of them won
(WAGER_DAILY_WIN_LIMIT, since either may win); else `wager_limit`. Free matches stay
open to everyone.

A day is the UTC day the match was accepted: the gates read that day's counters and the
settlement adds to the same day's (so a match accepted before midnight and settled after
counts where it was allowed). Checked when the challenge is sent and again at accept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import AsyncMongoClient, UpdateOne

from clubpengu.errors import NotFound, WagerLimit, WagerLocked
from clubpengu.models import Match, User, WagerDay
from clubpengu.models.base import utcnow

KEEP = timedelta(days=2)  # a counter outlives its day by this (TTL)


@dataclass(frozen=True)
class WagerRules:
    """WAGER_MIN_ACCOUNT_AGE, WAGER_MIN_MATCHES, WAGER_PAIR_DAILY_LIMIT and
    WAGER_DAILY_WIN_LIMIT (0: no limit)."""

    min_account_age: timedelta = timedelta(days=1)
    min_matches: int = 3
    pair_daily_limit: int = 200
    daily_win_limit: int = 1000

    @property
    def any(self) -> bool:
        """Whether any gate is on (none: the check reads nothing)."""
        return bool(
            self.min_account_age or self.min_matches or self.pair_daily_limit
            or self.daily_win_limit
        )  # fmt: skip


def utc_day(moment: datetime) -> str:
    return moment.astimezone(UTC).date().isoformat()


def pair_key(first: str, second: str, day: str) -> str:
    """The pair's counter of `day`, the same whoever challenges whom."""
    return f"pair:{'|'.join(sorted((first, second)))}:{day}"


def won_key(wallet: str, day: str) -> str:
    return f"won:{wallet}:{day}"


def counter_updates(match: Match, winner_wallet: str | None) -> list[UpdateOne]:
    """The settlement's additions to its day's counters when a wager changed hands: the
    pair moved `wager` coins, the winner won `wager`. Nothing for a draw or a refund."""
    if not match.wager or winner_wallet is None or match.stakes_refunded:
        return []
    day = utc_day(match.created_at)
    expires = datetime.fromisoformat(day).replace(tzinfo=UTC) + KEEP
    keys = (pair_key(match.wallets[0], match.wallets[1], day), won_key(winner_wallet, day))
    return [
        UpdateOne(
            {"_id": key},
            {"$inc": {"coins": match.wager}, "$setOnInsert": {"expiresAt": expires}},
            upsert=True,
        )
        for key in keys
    ]


class WagerGates:
    def __init__(
        self,
        client: AsyncMongoClient[dict[str, Any]],
        db_name: str,
        rules: WagerRules,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        database = client[db_name]
        self.users = database[User.Settings.name]
        self.days = database[WagerDay.Settings.name]
        self.rules = rules
        self.clock = clock

    async def check(self, first: str, second: str, wager: int) -> None:
        """Whether `first` and `second` may play for `wager` each today. Raises
        WagerLocked, WagerLimit; NotFound when a wallet has no player."""
        if wager <= 0 or not self.rules.any:
            return
        now = self.clock()
        found = self.users.find(
            {"walletAddress": {"$in": [first, second]}},
            {"walletAddress": 1, "username": 1, "createdAt": 1, "freeMatches": 1},
        )
        players = {doc["walletAddress"]: doc async for doc in found}
        if len(players) != 2:
            raise NotFound("No player for one of these wallets")
        for wallet in (first, second):
            self._check_open(players[wallet], now)
        await self._check_room(first, second, players, wager, utc_day(now))

    def _check_open(self, player: dict[str, Any], now: datetime) -> None:
        rules, name = self.rules, player.get("username", "?")
        opens = player["createdAt"] + rules.min_account_age
        if now < opens:
            when = opens.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
            raise WagerLocked(
                f"Wagers open {_span(rules.min_account_age)} after a penguin's first "
                f"sign-in: {name} may wager from {when}"
            )
        played = int(player.get("freeMatches", 0))
        if played < rules.min_matches:
            raise WagerLocked(
                f"Wagers open after {rules.min_matches} finished free matches: {name} has "
                f"finished {played}"
            )

    async def _check_room(
        self, first: str, second: str, players: dict[str, Any], wager: int, day: str
    ) -> None:
        rules = self.rules
        if not (rules.pair_daily_limit or rules.daily_win_limit):
            return
        keys = [pair_key(first, second, day), won_key(first, day), won_key(second, day)]
        counted = {doc["_id"]: int(doc["coins"]) async for doc in self.days.find(
            {"_id": {"$in": keys}}, {"coins": 1})}  # fmt: skip
        names = [players[w].get("username", "?") for w in (first, second)]
        if rules.pair_daily_limit:
            left = rules.pair_daily_limit - counted.get(keys[0], 0)
            if wager > left:
                raise WagerLimit(
                    f"{names[0]} and {names[1]} may wager {max(left, 0)} more coins with each "
                    f"other today ({rules.pair_daily_limit} a day)"
                )
        if rules.daily_win_limit:
            for name, key in zip(names, keys[1:], strict=True):
                left = rules.daily_win_limit - counted.get(key, 0)
                if wager > left:
                    raise WagerLimit(
                        f"{name} may win {max(left, 0)} more coins from wagers today "
                        f"({rules.daily_win_limit} a day)"
                    )


def _span(length: timedelta) -> str:
    minutes = round(length.total_seconds() / 60)
    return f"{minutes // 60} h" if minutes % 60 == 0 else f"{minutes} min"
