"""MatchService: a match's life on this node, from the accepted challenge to the payout.

See the package docstring for the invariants; the pieces are in start.py (a new match
and its escrow), moves.py (a move's one write), settlement.py (exactly-once payout),
timers.py (turn timers and other delayed work), sweeper.py (abandoned matches),
history.py (finished matches), rewards.py (the house's coins for playing) and
computer.py (the computer's seat).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo import AsyncMongoClient
from pymongo.errors import DuplicateKeyError

from clubpengu.db import without_journal_wait
from clubpengu.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InsufficientFunds,
    InvalidMessage,
    NotFound,
)
from clubpengu.games import GameOver, get_game
from clubpengu.games.computer import Level
from clubpengu.metrics import Metrics
from clubpengu.models import COMPUTER_WALLET, Match, MatchStatus, User
from clubpengu.models.base import utcnow
from clubpengu.services.economy import EconomyService
from clubpengu.services.economy_log import log_economy
from clubpengu.services.group_writer import GroupWriter
from clubpengu.services.ledger import LedgerEntry, LedgerResult
from clubpengu.services.match_cache import MatchCache
from clubpengu.services.matches.computer import ComputerPlayer
from clubpengu.services.matches.computer_pool import ComputerPool
from clubpengu.services.matches.history import PastMatch, finished_matches
from clubpengu.services.matches.moves import (
    Advanced,
    MoveWriter,
    Stale,
    advance,
    move_update,
    moves_update,
)
from clubpengu.services.matches.rewards import RewardRules
from clubpengu.services.matches.settlement import Settlement, Settler
from clubpengu.services.matches.start import (
    claim_players,
    computer_match,
    escrow_entry,
    new_match,
    usernames,
)
from clubpengu.services.matches.sweeper import Sweeper
from clubpengu.services.matches.timers import STOP_SECONDS, MatchTimers, Timing
from clubpengu.services.notices import CoinsChanged, MatchUpdate, MatchView, Notify
from clubpengu.services.transaction_runner import Session

logger = logging.getLogger(__name__)
# Told `start`, `resume`, `move` or `end` and the match (never to be changed by the listener).
Listener = Callable[[str, Match], None]
MOVE_ATTEMPTS = 5
# Players whose reconnect grace ended together, looked up in one query (`forfeit_gone`).
GONE_PER_QUERY = 200
# Far longer than a start's two writes take: a count this recent may belong to a match
# about to be inserted, and is not set to 0 by a look-up that finds none (`resume`).
COUNT_SETTLES = timedelta(minutes=1)
ACTIVE = MatchStatus.ACTIVE.value


class MatchService:
    """Starts, moves, settles and resumes matches; `notify(wallet, notice)` tells the
    players (their seat's view, their coins)."""

    def __init__(
        self,
        client: AsyncMongoClient[dict[str, Any]],
        db_name: str,
        economy: EconomyService,
        notify: Notify,
        timing: Timing | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
        metrics: Metrics | None = None,
        min_moves: int = 0,
        rewards: RewardRules | None = None,
        computer_workers: int = 2,
    ) -> None:
        database = client[db_name]
        self.metrics = metrics or Metrics()
        self.matches = database[Match.Settings.name]
        self.users = database[User.Settings.name]
        self.challenges = database["challenges"]
        self.economy = economy
        # The ledger's barrier (None on MongoDB): a move waits for it, not for a flush of its own.
        self.journal = economy.runner.journal
        # What a move's update is sent to: without its own journal wait when the barrier
        # gives one (made once here, not per move).
        self.move_writes = (
            self.matches if self.journal is None else without_journal_wait(self.matches)
        )
        self.move_writer = MoveWriter(self.move_writes, self.get, self.journal)
        self.start_users = self.users if self.journal is None else without_journal_wait(self.users)
        self.notify = notify
        self.timing = timing or Timing()
        self.clock = clock
        self.cache = MatchCache(self.timing.cache_size)
        self.listeners: list[Listener] = []
        self.timers = MatchTimers(self.timing.retry_after)
        self.settler = Settler(self.matches, self.users, economy, clock, min_moves, rewards)
        self.computer_pool = ComputerPool(computer_workers)
        self.computer = ComputerPlayer(self.computer_pool, self.move, self.get, self.timers.spawn)
        self._gone: GroupWriter[str] = GroupWriter(
            self._forfeit_gone, name="disconnect-forfeit", max_group=GONE_PER_QUERY
        )
        self.sweeper = Sweeper(
            self._expire,
            clock,
            interval=self.timing.sweep_interval,
            abandon_after=self.timing.abandon_after,
        )

    # --- lifecycle ----------------------------------------------------------------------

    @property
    def stopping(self) -> bool:
        return self.timers.stopping

    def start(self) -> None:
        self.sweeper.start()

    async def stop(self) -> None:
        """Stop timers and the sweeper; matches stay in the database for the next start."""
        sweeping = self.sweeper.stop(within=STOP_SECONDS)
        await asyncio.gather(sweeping, self.timers.stop(), self.computer_pool.stop())

    # --- start --------------------------------------------------------------------------

    async def active_for(self, wallet: str) -> list[Match]:
        return await Match.find({"wallets": wallet, "status": ACTIVE}).to_list()

    async def create(self, challenge: dict[str, Any]) -> Match:
        """Accept `challenge` (a raw pending document) and start its match: escrow, the
        challenge update and the Match insert in one transaction. Raises Conflict (no
        longer pending, or either player already playing), InsufficientFunds (naming
        who cannot pay)."""
        game = get_game(challenge["game"])
        wallets = [challenge["challengerWallet"], challenge["targetWallet"]]
        names = await usernames(self.users, wallets)
        now = self.clock()
        match = new_match(challenge, game, names, now, self.timing.turn_seconds)
        escrow: list[tuple[LedgerEntry, LedgerResult]] = []

        async def writes(session: Session) -> None:
            escrow.clear()
            accepted = await self.challenges.update_one(
                {"_id": challenge["_id"], "status": "pending", "expiresAt": {"$gt": now}},
                {"$set": {"status": "accepted", "matchId": str(match.id)}},
                session=session,
            )
            if accepted.matched_count == 0:
                raise Conflict("The challenge is no longer open")
            await claim_players(session, self.matches, self.users, match.wallets, now)
            for wallet in match.wallets if match.wager else ():
                entry = escrow_entry(match, wallet)
                try:
                    escrow.append((entry, await self.economy.write_entry(session, entry)))
                except InsufficientFunds:
                    who = "You" if wallet == challenge["targetWallet"] else "The challenger"
                    raise InsufficientFunds(f"{who} can no longer afford the wager") from None
            try:
                await self.matches.insert_one(match.model_dump(by_alias=True), session=session)
            except DuplicateKeyError:  # one_active_match: a start outside this transaction
                raise Conflict("One of the players is already playing a match") from None

        await self.economy.run_transaction(writes)
        if escrow:
            log_economy(escrow, game=game.id)
        self._tell_coins(escrow)
        self.cache.put(match)
        self._arm(match)
        self._tell("start", match)
        self.metrics.match_started(match.game)
        logger.info("match started", extra={"match": str(match.id), "game": game.id})
        return match

    async def play_computer(
        self,
        wallet: str,
        game_id: str,
        level: str,
        room: str | None,
        username: str | None = None,
    ) -> Match:
        """Start `wallet`'s match against the computer at `level`, at once (no challenge,
        no wager). `username`: the player's, when the caller knows it (the room's member
        does), which saves a read. Raises NotFound (game), InvalidMessage (level), Conflict
        (already playing)."""
        game = get_game(game_id)
        if level not in set(Level):
            raise InvalidMessage(f"level: must be one of {', '.join(Level)}")
        self.computer_pool.warm()
        names = {wallet: username} if username else await usernames(self.users, [wallet])
        now = self.clock()
        turn = self.timing.turn_seconds
        match = computer_match(wallet, names.get(wallet, "?"), game, level, room, now, turn)
        match = await self._opening(match)

        try:
            await self._start_alone(match, wallet)
        except BaseException:
            self.computer.forget(str(match.id))
            raise
        self.cache.put(match)
        self._arm(match)
        self._tell("start", match)
        self.metrics.match_started(match.game)
        logger.info(
            "match against the computer started",
            extra={"match": str(match.id), "game": game.id, "level": level},
        )
        self.computer.wake(match)
        return match

    async def _opening(self, match: Match) -> Match:
        """`match` (not yet written) with the computer's first move played into it, when
        the computer moves first (its seat opens, or card-jitsu's first pick) and the pool
        has the move within `Timing.computer_answer`: the start's insert writes it and
        `match_start` shows it, one update and one journal wait fewer than playing it
        after the start. Else `match` as it was, and the wake after the start plays the
        move being computed (kept for version 0)."""
        chosen = await self.computer.answer(match, self.timing.computer_answer)
        if chosen is None:
            return match
        try:
            opened = advance(match, COMPUTER_WALLET, chosen, self.clock(), self.timing.turn_seconds)
        except DomainError:
            logger.exception("computer opening refused", extra={"match": str(match.id)})
            return match
        return opened.match

    async def _start_alone(self, match: Match, wallet: str) -> None:
        """A match against the computer's writes, without a transaction (no coins move,
        one person): `activeMatches` + 1 on the User, then the Match, whose insert the
        unique index `one_active_match` refuses while the person plays another (Conflict,
        the count taken back), both acknowledged after one journal wait. The count goes
        first, so it is never below the person's active matches: a start cut off between
        the two leaves it one too high, which the next join sets right (`resume`)."""
        now = match.created_at
        await self.start_users.update_one(
            {"walletAddress": wallet},
            {"$set": {"updatedAt": now, "activeMatchesAt": now}, "$inc": {"activeMatches": 1}},
        )
        try:
            await self.move_writes.insert_one(match.model_dump(by_alias=True))
        except DuplicateKeyError:
            await self.start_users.update_one(
                {"walletAddress": wallet}, {"$inc": {"activeMatches": -1}}
            )
            raise Conflict("One of the players is already playing a match") from None
        if self.journal is not None:
            await self.economy.runner.journaled()

    # --- moves --------------------------------------------------------------------------

    async def get(self, match_id: str) -> Match:
        if not ObjectId.is_valid(match_id):
            raise NotFound("No such match")
        found = await self.matches.find_one({"_id": ObjectId(match_id)})
        if found is None:
            raise NotFound("No such match")
        match: Match = Match.model_validate(found)
        return match

    async def move(self, wallet: str, match_id: str, move: dict[str, Any]) -> Match:
        """Apply `wallet`'s move. Raises NotFound, Forbidden (not a player), GameOver,
        NotYourTurn, IllegalMove, Conflict (changed too often meanwhile).

        It is checked against the match as this node holds it (MatchCache), else a read;
        a move the held copy refuses is checked against a fresh read before it is
        refused, and a stale write is re-applied to a fresh read."""
        held = self.cache.get(match_id)
        match = held or await self.get(match_id)
        for _ in range(MOVE_ATTEMPTS):
            try:
                return await self._apply(match, wallet, move)
            except Stale:
                pass
            except DomainError:
                if match is not held:
                    raise
                # Refused by a held copy that may be stale: ask the database before refusing.
            self.cache.discard(match_id)
            held = None
            match = await self.get(match_id)
        raise Conflict("The match changed too often; try again")

    async def _apply(self, current: Match, wallet: str, move: dict[str, Any]) -> Match:
        """Check `move` against `current` and write it conditionally on its version;
        returns the new Match. The deciding move is written together with its settlement
        in one transaction (it moves coins). Against the computer, its answer ready within
        `Timing.computer_answer` is written in the same update (or the same settlement):
        the Match returned is then the one after both. Raises Stale."""
        advanced = advance(current, wallet, move, self.clock(), self.timing.turn_seconds)
        answered = await self._answer(advanced)
        last = answered or advanced
        if answered is None:
            update = move_update(advanced.match, advanced.entry)
        else:
            update = moves_update(answered.match, [advanced.entry, answered.entry])
        condition = {"_id": current.id, "version": current.version, "status": ACTIVE}
        settlement = None
        try:
            if last.outcome is None:
                await self.move_writer.write(condition, update, last.entry)
            else:
                writes = self.settler.deciding(last.match, current.version, update, last.outcome)
                settlement = await self.economy.run_transaction(writes)
        except BaseException:
            self.computer.forget(str(current.id))
            raise
        if answered is not None:
            self._tell("move", advanced.match)
        self._after_move(last, settlement, answered=answered is not None)
        return last.match

    async def _answer(self, advanced: Advanced) -> Advanced | None:
        """The computer's answer to a person's move (`advanced`, not yet written), applied,
        when the pool has it within the budget; else None (the computer moves after the
        write, as for any move)."""
        match = advanced.match
        if advanced.outcome is not None or match.wallets[advanced.seat] == COMPUTER_WALLET:
            return None
        chosen = await self.computer.answer(match, self.timing.computer_answer)
        if chosen is None:
            return None
        try:
            return advance(match, COMPUTER_WALLET, chosen, self.clock(), self.timing.turn_seconds)
        except DomainError:
            logger.exception("computer answer refused", extra={"match": str(match.id)})
            return None

    def _after_move(
        self, advanced: Advanced, settlement: Settlement | None, *, answered: bool = False
    ) -> None:
        """`answered`: `advanced` is the computer's answer written with the person's move,
        whose reply shows it (no `match_state` of its own)."""
        match = advanced.match
        self._tell("move", match)
        if settlement is not None:
            self._finished(match, settlement)
            return
        self.cache.put(match)
        self._arm(match)
        if not answered:
            self._notify_seat(match, 1 - advanced.seat, "match_state")
        self.computer.wake(match)

    def _notify_seat(self, match: Match, seat: int, view: MatchView) -> None:
        """Tell a seat's player (nobody sits in the computer's seat)."""
        if match.wallets[seat] != COMPUTER_WALLET:
            self.notify(match.wallets[seat], MatchUpdate(view, match, seat))

    def _tell(self, kind: str, match: Match) -> None:
        for listener in self.listeners:
            try:
                listener(kind, match)
            except Exception:
                logger.exception("match listener failed", extra={"match": str(match.id)})

    def _tell_coins(self, coins: list[tuple[LedgerEntry, LedgerResult]]) -> None:
        for entry, result in coins:
            self.notify(entry.wallet, CoinsChanged(result.balance, result.delta, entry.type))

    # --- settlement ---------------------------------------------------------------------

    async def settle(
        self,
        match_id: str,
        winner: int | None,
        reason: str,
        *,
        version: int | None = None,
        given_up: bool = False,
    ) -> Settlement | None:
        """Settle an active match (a forfeit, a timeout, the sweeper). Only the first call
        pays; later ones (or one whose `version` is stale) return None. `given_up`: the
        loser forfeited, timed out or left, so an early one refunds both stakes."""
        match = await self.get(match_id)
        return await self._settle(match, winner, reason, version=version, given_up=given_up)

    async def _settle(
        self,
        match: Match,
        winner: int | None,
        reason: str,
        *,
        version: int | None = None,
        given_up: bool = False,
    ) -> Settlement | None:
        """`settle` for a match just read (its settlement is conditional on it being
        active still)."""
        if match.status != MatchStatus.ACTIVE:
            return None
        condition = {} if version is None else {"version": version}

        async def writes(session: Session) -> Settlement | None:
            return await self.settler.writes(
                session, match, winner, reason, condition, given_up=given_up
            )

        settlement = await self.economy.run_transaction(writes)
        if settlement is not None:
            self._finished(match, settlement)
        return settlement

    def _finished(self, match: Match, settlement: Settlement) -> None:
        self.cache.discard(str(match.id))
        self.timers.cancel(f"turn:{match.id}")
        self.metrics.match_ended(match.game, settlement.reason)
        self._tell("end", match)
        for seat in range(len(match.wallets)):
            self._notify_seat(match, seat, "match_end")
        if settlement.coins:
            log_economy(settlement.coins, game=match.game, reason=settlement.reason)
        self._tell_coins(settlement.coins)
        logger.info(
            "match settled",
            extra={"match": str(match.id), "reason": settlement.reason, "wager": match.wager},
        )

    async def forfeit(self, wallet: str, match_id: str, reason: str = "forfeit") -> Settlement:
        """`wallet` gives up: the other player wins. Raises NotFound, Forbidden, GameOver."""
        match = await self.get(match_id)
        if wallet not in match.wallets:
            raise Forbidden("You are not playing in this match")
        winner = 1 - match.wallets.index(wallet)
        settlement = await self.settle(match_id, winner, reason, given_up=True)
        if settlement is None:
            raise GameOver("The match is over")
        return settlement

    async def forfeit_gone(self, wallet: str) -> None:
        """`wallet` left and did not come back within the grace: their active matches
        are settled as their losses. Players gone together (a crowd cut off at once,
        whose graces end in the same moment) are looked up in one query, not one each
        ahead of every move of the node (as `ChallengeService.cancel_all_from`).
        Raises what the look-up or a settlement raised."""
        await self._gone.submit(wallet)

    async def _forfeit_gone(self, wallets: list[str]) -> None:
        gone = set(wallets)
        query = {"wallets": {"$in": wallets}, "status": ACTIVE}
        for found in await self.matches.find(query).to_list():
            match: Match = Match.model_validate(found)
            # Both players gone: the one whose grace ended first loses, as one at a time.
            loser = min((w for w in match.wallets if w in gone), key=wallets.index)
            winner = 1 - match.wallets.index(loser)
            await self._settle(match, winner, "disconnect", given_up=True)

    # --- timers, resume and the sweeper -------------------------------------------------

    def _arm(self, match: Match) -> None:
        if match.turn_deadline is None:
            return
        delay = (match.turn_deadline - self.clock()).total_seconds()
        match_id, version = str(match.id), match.version
        self.timers.later(f"turn:{match_id}", delay, lambda: self._timeout(match_id, version))

    async def _timeout(self, match_id: str, version: int) -> None:
        """The turn timer fired: the seats the game still waits for forfeit (both: a draw)."""
        match = await self.get(match_id)
        if match.status != MatchStatus.ACTIVE or match.version != version:
            return
        await self._expire(match, "timeout")

    async def _expire(self, match: Match, reason: str) -> Settlement | None:
        game = get_game(match.game)
        outcome = game.outcome(match.state)
        if outcome is not None:  # the deciding move committed but its settlement did not
            return await self.settle(str(match.id), outcome.winner, outcome.reason)
        idle = game.seats_to_move(match.state)
        winner = 1 - idle[0] if len(idle) == 1 else None
        return await self.settle(
            str(match.id), winner, reason, version=match.version, given_up=True
        )

    async def resume(self, wallet: str, counted: int | None = None) -> list[Match]:
        """A player is back (sign-in or a restart): tell them each active match's state
        and arm its timer. A deadline that passed while nobody could play is moved to a
        full turn from now (a restart is not the player's fault). `counted`: the User's
        `activeMatches` as the join read it; when there is no active match after all,
        it is set to 0, unless a start changed it meanwhile or counted one less than
        COUNT_SETTLES ago: a match against the computer is counted before it is inserted
        (`_start_alone`), so a look-up between the two finds nothing yet. A start cut off
        there leaves the count one too high until a join after that time."""
        resumed = []
        active = await self.active_for(wallet)
        if not active and counted:
            settled = self.clock() - COUNT_SETTLES
            await self.users.update_one(
                {
                    "walletAddress": wallet,
                    "activeMatches": counted,
                    "$or": [
                        {"activeMatchesAt": None},
                        {"activeMatchesAt": {"$lt": settled}},
                    ],
                },
                {"$set": {"activeMatches": 0}},
            )
        for match in active:
            now = self.clock()
            if match.turn_deadline is not None and match.turn_deadline <= now:
                deadline = now + timedelta(seconds=self.timing.turn_seconds)
                changed = await self.matches.update_one(
                    {"_id": match.id, "version": match.version, "status": ACTIVE},
                    {"$set": {"turnDeadline": deadline}},
                )
                if changed.matched_count == 0:
                    continue
                match.turn_deadline = deadline
            self.cache.put(match)
            self._arm(match)
            self._tell("resume", match)
            seat = match.wallets.index(wallet)
            self.notify(wallet, MatchUpdate("match_state", match, seat))
            self.computer.wake(match)
            resumed.append(match)
        return resumed

    async def sweep(self) -> int:
        """Settle active matches whose deadline passed more than `abandon_after` ago."""
        return await self.sweeper.sweep()

    async def history(self, wallet: str, limit: int, before: datetime | None) -> list[PastMatch]:
        return await finished_matches(wallet, limit, before)
