"""The house's match rewards: coins for playing, paid by the settlement's transaction on
top of any wager, bounded so that a farm of wallets cannot print money.

- A match that ends by the rules pays its winner the game's win reward, and each player
  of a draw the draw reward (MATCH_REWARD_WIN, MATCH_REWARD_DRAW; the games catalogue's
  defaults). A match given up (forfeit, timeout, disconnect, abandoned), or in which the
  loser (both players, after a draw) made fewer than MATCH_MIN_MOVES moves, pays nothing.
  The computer's seat is never paid.
- Caps per UTC day (the day of the settlement): MATCH_REWARD_DAILY_CAP coins a wallet,
  of which MATCH_REWARD_COMPUTER_DAILY_CAP from matches against the computer, and
  MATCH_REWARD_PAIR_DAILY rewarded matches between the same two wallets. A reward that
  would pass a cap pays what is left of it (0 once it is reached) and says which cap.
- The counters are RewardDay documents read by `_id` and `$inc`ed in the settlement's
  own transaction: two settlements that would pass a cap together write the same counter,
  so they conflict and one is retried, reading what the other wrote (this holds across
  nodes, which a counter kept in memory would not, and costs one read and one write per
  rewarded match, where summing the ledger would read every reward of the day).
- Each reward is one ledger entry, `match_reward`, key `match:<id>:reward:<wallet>`:
  paid at most once per match and seat even if the settlement ran twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.collection import AsyncCollection

from clubpengu.games.catalog import default_draws, default_wins
from clubpengu.models import Match
from clubpengu.services.ledger import LedgerEntry
from clubpengu.services.transaction_runner import Session

KEEP = timedelta(days=2)  # a counter outlives its day by this (TTL)
# Why a seat got less than the game's reward (the wire's `rewardReason`).
LOST, TOO_FEW_MOVES, NO_REWARD, COMPUTER = "lost", "too_few_moves", "no_reward", "computer"
DAILY_CAP, PAIR_CAP, COMPUTER_CAP = "daily_cap", "pair_cap", "computer_cap"


@dataclass(frozen=True)
class RewardRules:
    """The amounts per game and the caps per UTC day (a cap of 0 pays nothing)."""

    win: Mapping[str, int] = field(default_factory=default_wins)
    draw: Mapping[str, int] = field(default_factory=default_draws)
    daily_cap: int = 300
    pair_daily: int = 5
    computer_daily_cap: int = 100


# For a match service built without rules (tests of other things, tools): no rewards.
NO_REWARDS = RewardRules(win={}, draw={})


@dataclass(frozen=True)
class SeatReward:
    coins: int
    reason: str | None = None


def utc_day(moment: datetime) -> str:
    return moment.astimezone(UTC).date().isoformat()


def coins_key(wallet: str, day: str) -> str:
    return f"coins:{wallet}:{day}"


def computer_key(wallet: str, day: str) -> str:
    return f"computer:{wallet}:{day}"


def pair_key(first: str, second: str, day: str) -> str:
    """The pair's counter of `day`, the same whichever seat each plays."""
    return f"pair:{'|'.join(sorted((first, second)))}:{day}"


def moves_by(match: Match, seat: int) -> int:
    return sum(1 for entry in match.log if entry.seat == seat)


def offered(
    match: Match,
    winner: int | None,
    reason: str,
    given_up: bool,
    min_moves: int,
    rules: RewardRules,
) -> list[SeatReward]:
    """Each seat's reward before the caps: what the game pays for this result, or 0 and
    why not."""
    losers = (0, 1) if winner is None else (1 - winner,)
    played = all(moves_by(match, seat) >= min_moves for seat in losers)
    amount = (rules.draw if winner is None else rules.win).get(match.game, 0)
    out = []
    for seat in (0, 1):
        if seat == match.computer_seat:
            out.append(SeatReward(0, COMPUTER))
        elif given_up:
            out.append(SeatReward(0, reason))
        elif winner is not None and seat != winner:
            out.append(SeatReward(0, LOST))
        elif not played:
            out.append(SeatReward(0, TOO_FEW_MOVES))
        elif amount <= 0:
            out.append(SeatReward(0, NO_REWARD))
        else:
            out.append(SeatReward(amount))
    return out


def counter_keys(match: Match, day: str) -> list[str]:
    """The counters the caps of `match` read: each paid wallet's coins, and the computer's
    share or the pair's matches."""
    people = [w for seat, w in enumerate(match.wallets) if seat != match.computer_seat]
    keys = [coins_key(wallet, day) for wallet in people]
    if match.computer_seat is not None:
        keys += [computer_key(wallet, day) for wallet in people]
    else:
        keys.append(pair_key(match.wallets[0], match.wallets[1], day))
    return keys


def capped(
    match: Match, wanted: list[SeatReward], counts: Mapping[str, int], rules: RewardRules, day: str
) -> list[SeatReward]:
    """`wanted` within the day's caps, given the counters `counts` (missing: 0)."""
    if match.computer_seat is None:
        paired = counts.get(pair_key(match.wallets[0], match.wallets[1], day), 0)
        if paired >= rules.pair_daily:
            return [SeatReward(0, PAIR_CAP) if r.coins else r for r in wanted]
    out = []
    for seat, reward in enumerate(wanted):
        if not reward.coins:
            out.append(reward)
            continue
        wallet = match.wallets[seat]
        limits = [(rules.daily_cap - counts.get(coins_key(wallet, day), 0), DAILY_CAP)]
        if match.computer_seat is not None:
            left = rules.computer_daily_cap - counts.get(computer_key(wallet, day), 0)
            limits.insert(0, (left, COMPUTER_CAP))
        left, cap = min(limits, key=lambda limit: limit[0])
        if left >= reward.coins:
            out.append(reward)
        else:
            out.append(SeatReward(max(left, 0), cap))
    return out


def counter_updates(match: Match, paid: list[SeatReward], day: str) -> list[UpdateOne]:
    """The day's counters after `paid`: each wallet's coins (and computer share), and one
    more rewarded match for the pair."""
    expires = datetime.fromisoformat(day).replace(tzinfo=UTC) + KEEP
    adds: dict[str, int] = {}
    for seat, reward in enumerate(paid):
        if reward.coins:
            wallet = match.wallets[seat]
            adds[coins_key(wallet, day)] = reward.coins
            if match.computer_seat is not None:
                adds[computer_key(wallet, day)] = reward.coins
    if adds and match.computer_seat is None:
        adds[pair_key(match.wallets[0], match.wallets[1], day)] = 1
    return [
        UpdateOne(
            {"_id": key}, {"$inc": {"total": n}, "$setOnInsert": {"expiresAt": expires}},
            upsert=True,
        )
        for key, n in adds.items()
    ]  # fmt: skip


def reward_entries(match: Match, paid: list[SeatReward], winner: int | None) -> list[LedgerEntry]:
    proof = {"matchId": str(match.id)}
    result = "drew" if winner is None else "won"
    return [
        LedgerEntry(
            match.wallets[seat], reward.coins, "match_reward",
            f"match:{match.id}:reward:{match.wallets[seat]}",
            reason=f"{result} {match.game}", proof=proof,
        )
        for seat, reward in enumerate(paid)
        if reward.coins
    ]  # fmt: skip


class Rewarder:
    """The settlement's reward writes; `days` is the RewardDay collection."""

    def __init__(
        self, days: AsyncCollection[dict[str, Any]], rules: RewardRules, min_moves: int
    ) -> None:
        self.days = days
        self.rules = rules
        self.min_moves = min_moves

    async def decide(
        self,
        session: Session,
        match: Match,
        winner: int | None,
        reason: str,
        given_up: bool,
        now: datetime,
    ) -> list[SeatReward]:
        """Each seat's reward for this settlement, within the day's caps (read in the
        caller's transaction)."""
        wanted = offered(match, winner, reason, given_up, self.min_moves, self.rules)
        if not any(reward.coins for reward in wanted):
            return wanted
        day = utc_day(now)
        found = self.days.find(
            {"_id": {"$in": counter_keys(match, day)}}, {"total": 1}, session=session
        )
        counts = {doc["_id"]: int(doc["total"]) async for doc in found}
        return capped(match, wanted, counts, self.rules, day)

    async def count(
        self, session: Session, match: Match, paid: list[SeatReward], now: datetime
    ) -> None:
        """Add `paid` to the day's counters, in the caller's transaction."""
        updates = counter_updates(match, paid, utc_day(now))
        if updates:
            await self.days.bulk_write(updates, ordered=False, session=session)
