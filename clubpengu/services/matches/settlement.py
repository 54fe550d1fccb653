"""Settling a match exactly once: its Match update, the coins and the players' results in
the caller's transaction.

The Match update is conditional on `status: active, settledAt: null` (plus whatever the
caller adds: the version a timer armed with, the deciding move's version), so a second
attempt matches nothing; the payout (`match_payout`, key `match:<id>:payout`) or both
refunds (`match_refund`, `match:<id>:refund:<wallet>`) carry idempotency keys, so even
then a double credit is impossible. `stats.games.<game>.wins|losses|draws` go with them:
in the balance update of a player paid in this settlement (one write of their User),
else in one bulk write.

The wager gates' rules live in their own functions here: a player who gives up (forfeit,
timeout, disconnect, abandoned) before making MATCH_MIN_MOVES moves gets both stakes
refunded instead of paid out (`refunds_stakes`); a free match counts toward the gates
only when it was played (`counts_as_played`); the day's wager counters are updated in
the same transaction (services/wager_gates.py `counter_updates`).

The house's rewards (`match_reward`, rewards.py) are decided and paid in the same
transaction, and stored per seat on the Match (`rewards`, `rewardReasons`).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.collection import AsyncCollection

from clubpengu.games import Outcome
from clubpengu.models import Match, MatchStatus, RewardDay, WagerDay
from clubpengu.services.economy import EconomyService
from clubpengu.services.ledger import LedgerEntry, LedgerResult
from clubpengu.services.matches.moves import Stale
from clubpengu.services.matches.rated import GIVEN_UP
from clubpengu.services.matches.rewards import (
    NO_REWARDS,
    Rewarder,
    RewardRules,
    moves_by,
    reward_entries,
)
from clubpengu.services.transaction_runner import Session
from clubpengu.services.wager_gates import counter_updates

ACTIVE = MatchStatus.ACTIVE.value
COMPLETED = MatchStatus.COMPLETED.value


@dataclass
class Settlement:
    winner_seat: int | None
    reason: str
    coins: list[tuple[LedgerEntry, LedgerResult]] = field(default_factory=list)


class Settler:
    """The settlement's writes; the service decides when to settle and who won."""

    def __init__(
        self,
        matches: AsyncCollection[dict[str, Any]],
        users: AsyncCollection[dict[str, Any]],
        economy: EconomyService,
        clock: Callable[[], datetime],
        min_moves: int = 0,
        rewards: RewardRules | None = None,
    ) -> None:
        self.matches = matches
        self.users = users
        self.days = users.database[WagerDay.Settings.name]
        self.economy = economy
        self.clock = clock
        self.min_moves = min_moves
        days = users.database[RewardDay.Settings.name]
        self.rewarder = Rewarder(days, rewards or NO_REWARDS, min_moves)

    async def writes(
        self,
        session: Session,
        match: Match,
        winner: int | None,
        reason: str,
        condition: dict[str, Any],
        move: dict[str, Any] | None = None,
        *,
        given_up: bool = False,
    ) -> Settlement | None:
        """The settlement's writes in the caller's transaction; None if already settled
        (or `condition` no longer holds). `move` is the deciding move's update, merged
        into the same single write of the Match; `given_up` says the loser forfeited,
        timed out or left (not beaten by the rules). On success `match` is updated to
        match what was written."""
        now = self.clock()
        winner_wallet = match.wallets[winner] if winner is not None else None
        refunded = refunds_stakes(match, winner, given_up, self.min_moves)
        rewards = await self.rewarder.decide(session, match, winner, reason, given_up, now)
        update: dict[str, Any] = dict(move or {})
        update["$set"] = {
            **update.get("$set", {}),
            "status": COMPLETED, "winnerWallet": winner_wallet, "result": reason,
            "turn": None, "turnDeadline": None, "endedAt": now, "settledAt": now,
            "updatedAt": now, "stakesRefunded": refunded,
            "rewards": [r.coins for r in rewards], "rewardReasons": [r.reason for r in rewards],
            "aftermathDue": aftermath_due(reason, match, winner, self.min_moves),
        }  # fmt: skip
        changed = await self.matches.update_one(
            {"_id": match.id, "status": ACTIVE, "settledAt": None, **condition},
            update,
            session=session,
        )
        if changed.matched_count == 0:
            return None
        settlement = Settlement(winner, reason)
        entries = payouts(match, None if refunded else winner_wallet, refunded=refunded)
        entries += reward_entries(match, rewards, winner)
        played = counts_as_played(match, winner, self.min_moves)
        # A player's results go with the balance update of their first entry (one write
        # of the User, not two); those paid nothing get them in one bulk write.
        left = result_incs(match, winner, played)
        for entry in entries:
            inc = left.pop(entry.wallet, None)
            if inc is not None:
                entry = replace(entry, user_update={"$inc": inc})
            settlement.coins.append((entry, await self.economy.write_entry(session, entry)))
        await self.rewarder.count(session, match, rewards, now)
        if left:
            updates = [UpdateOne({"walletAddress": w}, {"$inc": inc}) for w, inc in left.items()]
            await self.users.bulk_write(updates, ordered=False, session=session)
        match.status, match.winner_wallet, match.result = (
            MatchStatus.COMPLETED,
            winner_wallet,
            reason,
        )
        match.stakes_refunded = refunded
        match.rewards = [r.coins for r in rewards]
        match.reward_reasons = [r.reason for r in rewards]
        counters = counter_updates(match, winner_wallet)
        if counters:
            await self.days.bulk_write(counters, ordered=False, session=session)
        match.turn, match.turn_deadline, match.ended_at, match.settled_at = None, None, now, now
        match.aftermath_due = update["$set"]["aftermathDue"]
        return settlement

    def deciding(
        self, match: Match, before: int, update: dict[str, Any], outcome: Outcome
    ) -> Callable[[Session], Coroutine[Any, Any, Settlement]]:
        """The move that ends the game (`update`, computed from version `before`) and its
        settlement: one transaction, since coins move. Raises Stale when the match
        changed since `before`."""

        async def writes(session: Session) -> Settlement:
            settlement = await self.writes(
                session, match, outcome.winner, outcome.reason, {"version": before}, update
            )
            if settlement is None:
                raise Stale()
            return settlement

        return writes


def refunds_stakes(match: Match, winner: int | None, given_up: bool, min_moves: int) -> bool:
    """A wagered match given up (forfeit, timeout, disconnect, abandoned) before the player
    who gave up made `min_moves` moves refunds both stakes: a wager forfeited at once is
    not a way to hand coins over."""
    if not given_up or winner is None or not match.wager:
        return False
    return moves_by(match, 1 - winner) < min_moves


def aftermath_due(reason: str, match: Match, winner: int | None, min_moves: int) -> bool:
    """Whether the match, settled so, was played out (rated.py `played_out`): it then has
    stamps, and perhaps leaderboard entries, to record (services/match_aftermath.py)."""
    return reason not in GIVEN_UP and counts_as_played(match, winner, min_moves)


def counts_as_played(match: Match, winner: int | None, min_moves: int) -> bool:
    """The loser (both players, after a draw) made at least `min_moves` moves."""
    seats = (0, 1) if winner is None else (1 - winner,)
    return all(moves_by(match, seat) >= min_moves for seat in seats)


def payouts(
    match: Match, winner_wallet: str | None, *, refunded: bool = False
) -> list[LedgerEntry]:
    """The winner takes both wagers; a draw, or a match given up too early (`refunded`),
    gives each player their own back."""
    if not match.wager:
        return []
    proof = {"matchId": str(match.id)}
    if winner_wallet is not None:
        return [
            LedgerEntry(
                winner_wallet, 2 * match.wager, "match_payout", f"match:{match.id}:payout",
                reason=f"won {match.game}", proof=proof,
            )
        ]  # fmt: skip
    return [
        LedgerEntry(
            wallet, match.wager, "match_refund", f"match:{match.id}:refund:{wallet}",
            reason=f"{match.game} {'given up early' if refunded else 'draw'}", proof=proof,
        )
        for wallet in match.wallets
    ]  # fmt: skip


def result_incs(match: Match, winner: int | None, played: bool = True) -> dict[str, dict[str, int]]:
    """By wallet, the `$inc` of each player's results: `stats.games.<game>.wins|losses|draws`
    + 1, and `freeMatches` + 1 for a free match that `played`. Against the computer, the
    player's `stats.computer.<game>.…` instead, and no free match: beating the computer
    does not open wagers with people. Every settlement (a win, a draw, a forfeit, a
    timeout, the sweeper) takes the match off each User's `activeMatches` (start.py
    claim_players, MatchService._start_alone)."""
    incs = {}
    against_computer = match.computer_seat is not None
    for seat, wallet in enumerate(match.wallets):
        if seat == match.computer_seat:
            continue
        key = "draws" if winner is None else ("wins" if seat == winner else "losses")
        group = "computer" if against_computer else "games"
        inc = {f"stats.{group}.{match.game}.{key}": 1, "activeMatches": -1}
        if played and not match.wager and not against_computer:
            inc["freeMatches"] = 1
        incs[wallet] = inc
    return incs
