"""Wagered matches: escrow, server-side moves with an ordered event log, turn timers,
forfeits and settlement exactly once.

- Start (`create`): the challenge's pending→accepted update, both `match_escrow` debits
  (keys `match:<id>:escrow:<wallet>`) and the Match insert are one transaction.
- Move (`move`): the rules (clubpengu/games) check it against the match as this node
  holds it (MatchCache, else a read), and ONE single-document atomic update writes it:
  filter `{_id, version: v, status: active}`, `$set` state/turn/deadline, `$inc` version
  and seq, `$push` the log entry (the ordered event log is embedded in the Match and
  bounded by the game's `max_moves`). No transaction is needed because everything a
  move changes is in that one document. A stale write matches nothing: the match is read
  again and the move re-applied (so of two concurrent moves of one seat the second
  becomes `not your turn`), never overwritten; a move the held copy refuses is checked
  against a fresh read before it is refused. The deciding move is written together with
  its settlement in one transaction (it moves coins).
- Settlement: one transaction with a Match update conditional on `status: active,
  settledAt: null` (plus the version a timer armed with), the payout (`match_payout`, key
  `match:<id>:payout`) or both refunds (`match_refund`, `match:<id>:refund:<wallet>`),
  and `stats.games.<game>.wins|losses|draws`. A second attempt matches nothing; the
  idempotency keys make a double credit impossible even then. The move that ends a game
  settles in its own transaction, so no finished match waits for a payout.
- Listeners (`listeners`) hear `start`, `resume`, `move` and `end` of every match this
  node runs (the transport tells the room who is playing whom, and spectators the moves).
- Timers live in this process (asyncio handles): a restarted node re-arms them when a
  player comes back (`resume`), and the sweeper settles matches whose deadline passed
  more than `abandon_after` ago on any node.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo import AsyncMongoClient, UpdateOne
from pymongo.errors import ConnectionFailure, OperationFailure

from clubpengu.errors import Conflict, DomainError, Forbidden, InsufficientFunds, NotFound
from clubpengu.games import GameOver, Outcome, get_game
from clubpengu.games.base import Game
from clubpengu.metrics import Metrics
from clubpengu.models import Match, MatchLogEntry, MatchPlayer, MatchStatus, User
from clubpengu.models.base import utcnow
from clubpengu.services.economy import EconomyService
from clubpengu.services.economy_log import log_economy
from clubpengu.services.ledger import LedgerEntry, LedgerResult, coins_push
from clubpengu.services.match_cache import MatchCache
from clubpengu.services.outage import is_outage
from clubpengu.services.transaction_runner import Session

logger = logging.getLogger(__name__)
Push = Callable[[str, dict[str, Any]], None]
# Told `start`, `move` or `end` and the match (never to be changed by the listener).
Listener = Callable[[str, Match], None]
MOVE_ATTEMPTS = 5
ACTIVE = MatchStatus.ACTIVE.value
COMPLETED = MatchStatus.COMPLETED.value
SEED_LIMIT = 2**63


class _Stale(Exception):
    """The Match changed since it was read; read it again."""


@dataclass(frozen=True)
class Timing:
    turn_seconds: float = 30.0
    sweep_interval: float = 30.0
    abandon_after: float = 300.0
    cache_size: int = 10_000
    # A timer whose work found the database out of reach runs again this much later
    # (a turn timeout or a disconnect forfeit is late, never lost).
    retry_after: float = 5.0


@dataclass
class Settlement:
    winner_seat: int | None
    reason: str
    coins: list[tuple[LedgerEntry, LedgerResult]] = field(default_factory=list)


def match_frame(kind: str, match: Match, seat: int) -> dict[str, Any]:
    """`match_start` / `match_state` / `match_end` for one seat: its own view only."""
    game = get_game(match.game)
    deadline = match.turn_deadline.isoformat() if match.turn_deadline else None
    frame: dict[str, Any] = {
        "type": kind,
        "matchId": str(match.id),
        "game": match.game,
        "wager": match.wager,
        "seat": seat,
        "players": [
            {"seat": i, "walletAddress": p.wallet_address, "username": p.username}
            for i, p in enumerate(match.players)
        ],
        "status": str(match.status),
        "view": game.view(match.state, seat),
        "toMove": list(game.seats_to_move(match.state)),
        "turnDeadline": deadline,
        "seq": match.seq,
    }
    if match.status != MatchStatus.ACTIVE:
        winner = match.winner_wallet
        frame["winner"] = winner
        frame["reason"] = match.result
        mine = match.wallets[seat]
        frame["result"] = "draw" if winner is None else ("win" if winner == mine else "loss")
    return frame


class MatchService:
    """See the module docstring. `push(wallet, frame)` delivers to live connections."""

    def __init__(
        self,
        client: AsyncMongoClient[dict[str, Any]],
        db_name: str,
        economy: EconomyService,
        push: Push,
        timing: Timing | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
        metrics: Metrics | None = None,
    ) -> None:
        database = client[db_name]
        self.metrics = metrics or Metrics()
        self.matches = database[Match.Settings.name]
        self.users = database[User.Settings.name]
        self.challenges = database["challenges"]
        self.economy = economy
        self.push = push
        self.timing = timing or Timing()
        self.clock = clock
        self.cache = MatchCache(self.timing.cache_size)
        self.listeners: list[Listener] = []
        self.stopping = False
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._sweeper: asyncio.Task[None] | None = None

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="match-sweeper")

    async def stop(self) -> None:
        """Stop timers and the sweeper; matches stay in the database for the next start."""
        self.stopping = True
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        if self._sweeper is not None:
            self._sweeper.cancel()
        pending = [t for t in (self._sweeper, *self._tasks) if t is not None]
        if pending:
            await asyncio.wait(pending, timeout=2.0)

    def spawn(self, work: Coroutine[Any, Any, Any], name: str) -> None:
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("match task failed", exc_info=task.exception())

    def later(self, key: str, delay: float, work: Callable[[], Coroutine[Any, Any, Any]]) -> None:
        """Run `work()` after `delay` seconds, replacing any earlier timer of `key`."""
        old = self._timers.pop(key, None)
        if old is not None:
            old.cancel()
        if self.stopping:
            return

        def fire() -> None:
            self._timers.pop(key, None)
            self.spawn(self._retrying(key, work), key)

        self._timers[key] = asyncio.get_running_loop().call_later(max(delay, 0.0), fire)

    async def _retrying(self, key: str, work: Callable[[], Coroutine[Any, Any, Any]]) -> None:
        """Run a timer's work; if the database is out of reach, arm it again (unless a
        newer timer of the same key was set meanwhile: the work it replaced is stale)."""
        try:
            await work()
        except Exception as error:
            if not is_outage(error) or self.stopping:
                raise
            logger.warning(
                "match timer: database unavailable; trying again",
                extra={"timer": key, "retry_in": self.timing.retry_after,
                       "error": type(error).__name__},
            )  # fmt: skip
            if key not in self._timers:
                self.later(key, self.timing.retry_after, work)

    def cancel_timer(self, key: str) -> None:
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()

    # --- start --------------------------------------------------------------------------

    async def active_for(self, wallet: str) -> list[Match]:
        return await Match.find({"wallets": wallet, "status": ACTIVE}).to_list()

    async def create(self, challenge: dict[str, Any]) -> Match:
        """Accept `challenge` (a raw pending document) and start its match: escrow, the
        challenge update and the Match insert in one transaction. Raises Conflict (no
        longer pending), InsufficientFunds (naming who cannot pay)."""
        game = get_game(challenge["game"])
        wallets = [challenge["challengerWallet"], challenge["targetWallet"]]
        secrets.SystemRandom().shuffle(wallets)  # who moves first
        names = {
            u["walletAddress"]: u["username"]
            async for u in self.users.find(
                {"walletAddress": {"$in": wallets}}, {"walletAddress": 1, "username": 1}
            )
        }
        now = self.clock()
        seed = secrets.randbelow(SEED_LIMIT)
        state = game.new_state(seed)
        match = Match(
            id=ObjectId(), game=game.id, wallets=wallets, wager=int(challenge["wager"]),
            players=[MatchPlayer(wallet_address=w, username=names.get(w, "?")) for w in wallets],
            state=state, seed=seed, challenge_id=str(challenge["_id"]), room=challenge.get("room"),
            created_at=now, updated_at=now,
        )  # fmt: skip
        self._set_turn(match, game, now)

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
            await self._claim_players(session, wallets, now)
            for wallet in wallets if match.wager else ():
                entry = LedgerEntry(
                    wallet, -match.wager, "match_escrow", f"match:{match.id}:escrow:{wallet}",
                    reason=f"{game.id} wager", proof={"matchId": str(match.id)},
                )  # fmt: skip
                try:
                    escrow.append((entry, await self.economy.write_entry(session, entry)))
                except InsufficientFunds:
                    who = "You" if wallet == challenge["targetWallet"] else "The challenger"
                    raise InsufficientFunds(f"{who} can no longer afford the wager") from None
            await self.matches.insert_one(match.model_dump(by_alias=True), session=session)

        await self.economy.run_transaction(writes)
        if escrow:
            log_economy(escrow, game=game.id)
        for entry, result in escrow:
            self.push(entry.wallet, coins_push(result, entry.type))
        self.cache.put(match)
        self._arm(match)
        self._tell("start", match)
        self.metrics.match_started(match.game)
        logger.info("match started", extra={"match": str(match.id), "game": game.id})
        return match

    async def _claim_players(self, session: Session, wallets: list[str], now: datetime) -> None:
        """Refuse a start when either player is already in an active match. Both players'
        User documents are written in the transaction too, so two accepts that involve
        one player (two challenges accepted at once) conflict on it: one commits, the
        other is retried and then finds the first match here. Raises Conflict."""
        playing = await self.matches.find_one(
            {"wallets": {"$in": wallets}, "status": ACTIVE}, {"wallets": 1}, session=session
        )
        if playing is not None:
            raise Conflict("One of the players is already playing a match")
        await self.users.update_many(
            {"walletAddress": {"$in": wallets}}, {"$set": {"updatedAt": now}}, session=session
        )

    def _set_turn(self, match: Match, game: Game, now: datetime) -> None:
        waiting = game.seats_to_move(match.state)
        match.turn = match.wallets[waiting[0]] if len(waiting) == 1 else None
        seconds = self.timing.turn_seconds
        match.turn_deadline = now + timedelta(seconds=seconds) if waiting else None

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
        NotYourTurn, IllegalMove, Conflict (changed too often meanwhile)."""
        held = self.cache.get(match_id)
        match = held or await self.get(match_id)
        for _ in range(MOVE_ATTEMPTS):
            try:
                return await self._apply(match, wallet, move)
            except _Stale:
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
        returns the new Match (`current` itself is left as it was). Raises _Stale."""
        if wallet not in current.wallets:
            raise Forbidden("You are not playing in this match")
        game = get_game(current.game)
        if current.status != MatchStatus.ACTIVE or current.seq >= game.max_moves:
            raise GameOver("The match is over")
        seat = current.wallets.index(wallet)
        state = game.apply(current.state, seat, move)
        now = self.clock()
        entry = MatchLogEntry(
            seq=current.seq + 1, seat=seat, wallet_address=wallet, move=move, at=now
        )
        match: Match = current.model_copy(update={
            "state": state, "log": [*current.log, entry], "version": current.version + 1,
            "seq": current.seq + 1, "updated_at": now,
        })  # fmt: skip
        self._set_turn(match, game, now)
        update = _move_update(match, entry)
        condition = {"_id": current.id, "version": current.version, "status": ACTIVE}
        outcome = game.outcome(state)
        settlement = None
        if outcome is None:
            await self._write_move(condition, update, entry)
        else:
            settlement = await self.economy.run_transaction(
                self._deciding_writes(match, current.version, update, outcome)
            )
        self._after_move(match, seat, settlement)
        return match

    async def _write_move(
        self, condition: dict[str, Any], update: dict[str, Any], entry: MatchLogEntry
    ) -> None:
        """The move's one write, sent as a plain `update` command rather than a driver
        retryable write: SecantusDB keeps a record per retryable write and every write
        pays for the pile (README, Performance), while the version check already makes
        this write safe to retry by hand. A lost reply is settled by reading the match:
        our entry at its seq means the write applied; otherwise it is retried as stale.
        Raises _Stale."""
        command = {"update": self.matches.name, "updates": [{"q": condition, "u": update}]}
        try:
            reply = await self.matches.database.command(command)
        except ConnectionFailure:
            if _logged(await self.get(str(condition["_id"])), entry):
                return
            raise _Stale() from None
        if reply.get("writeErrors"):
            raise OperationFailure(str(reply["writeErrors"][0].get("errmsg")), details=reply)
        if reply["n"] == 0:
            raise _Stale()

    def _deciding_writes(
        self, match: Match, before: int, update: dict[str, Any], outcome: Outcome
    ) -> Callable[[Session], Coroutine[Any, Any, Settlement]]:
        """The move that ends the game and its settlement: one transaction (coins move)."""

        async def writes(session: Session) -> Settlement:
            settlement = await self._settle_writes(
                session, match, outcome.winner, outcome.reason, {"version": before}, update
            )
            if settlement is None:
                raise _Stale()
            return settlement

        return writes

    def _after_move(self, match: Match, seat: int, settlement: Settlement | None) -> None:
        self._tell("move", match)
        if settlement is not None:
            self._finished(match, settlement)
            return
        self.cache.put(match)
        self._arm(match)
        other = 1 - seat
        self.push(match.wallets[other], match_frame("match_state", match, other))

    def _tell(self, kind: str, match: Match) -> None:
        for listener in self.listeners:
            try:
                listener(kind, match)
            except Exception:
                logger.exception("match listener failed", extra={"match": str(match.id)})

    # --- settlement ---------------------------------------------------------------------

    async def _settle_writes(
        self,
        session: Session,
        match: Match,
        winner: int | None,
        reason: str,
        condition: dict[str, Any],
        move: dict[str, Any] | None = None,
    ) -> Settlement | None:
        """The settlement's writes in the caller's transaction; None if already settled
        (or `condition` no longer holds). `move` is the deciding move's update, merged
        into the same single write of the Match."""
        now = self.clock()
        winner_wallet = match.wallets[winner] if winner is not None else None
        update: dict[str, Any] = dict(move or {})
        update["$set"] = {
            **update.get("$set", {}),
            "status": COMPLETED, "winnerWallet": winner_wallet, "result": reason,
            "turn": None, "turnDeadline": None, "endedAt": now, "settledAt": now,
            "updatedAt": now,
        }  # fmt: skip
        changed = await self.matches.update_one(
            {"_id": match.id, "status": ACTIVE, "settledAt": None, **condition},
            update,
            session=session,
        )
        if changed.matched_count == 0:
            return None
        settlement = Settlement(winner, reason)
        for entry in self._payouts(match, winner_wallet):
            settlement.coins.append((entry, await self.economy.write_entry(session, entry)))
        await self.users.bulk_write(_results(match, winner), ordered=False, session=session)
        match.status, match.winner_wallet, match.result = (
            MatchStatus.COMPLETED,
            winner_wallet,
            reason,
        )
        match.turn, match.turn_deadline, match.ended_at, match.settled_at = None, None, now, now
        return settlement

    def _payouts(self, match: Match, winner_wallet: str | None) -> list[LedgerEntry]:
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
                reason=f"{match.game} draw", proof=proof,
            )
            for wallet in match.wallets
        ]  # fmt: skip

    async def settle(
        self, match_id: str, winner: int | None, reason: str, *, version: int | None = None
    ) -> Settlement | None:
        """Settle an active match (a forfeit, a timeout, the sweeper). Only the first call
        pays; later ones (or one whose `version` is stale) return None."""
        match = await self.get(match_id)
        if match.status != MatchStatus.ACTIVE:
            return None
        condition = {} if version is None else {"version": version}

        async def writes(session: Session) -> Settlement | None:
            return await self._settle_writes(session, match, winner, reason, condition)

        settlement = await self.economy.run_transaction(writes)
        if settlement is not None:
            self._finished(match, settlement)
        return settlement

    def _finished(self, match: Match, settlement: Settlement) -> None:
        self.cache.discard(str(match.id))
        self.cancel_timer(f"turn:{match.id}")
        self.metrics.match_ended(match.game, settlement.reason)
        self._tell("end", match)
        for seat, wallet in enumerate(match.wallets):
            self.push(wallet, match_frame("match_end", match, seat))
        if settlement.coins:
            log_economy(settlement.coins, game=match.game, reason=settlement.reason)
        for entry, result in settlement.coins:
            self.push(entry.wallet, coins_push(result, entry.type))
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
        settlement = await self.settle(match_id, winner, reason)
        if settlement is None:
            raise GameOver("The match is over")
        return settlement

    async def forfeit_all(self, wallet: str, reason: str) -> int:
        """Settle every active match of `wallet` as its loss (disconnect past the grace)."""
        settled = 0
        for match in await self.active_for(wallet):
            winner = 1 - match.wallets.index(wallet)
            if await self.settle(str(match.id), winner, reason) is not None:
                settled += 1
        return settled

    # --- timers, resume and the sweeper -------------------------------------------------

    def _arm(self, match: Match) -> None:
        if match.turn_deadline is None:
            return
        delay = (match.turn_deadline - self.clock()).total_seconds()
        match_id, version = str(match.id), match.version
        self.later(f"turn:{match_id}", delay, lambda: self._timeout(match_id, version))

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
        return await self.settle(str(match.id), winner, reason, version=match.version)

    async def resume(self, wallet: str) -> list[Match]:
        """A player is back (sign-in or a restart): push each active match's state and arm
        its timer. A deadline that passed while nobody could play is moved to a full turn
        from now (a restart is not the player's fault)."""
        resumed = []
        for match in await self.active_for(wallet):
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
            self.push(wallet, match_frame("match_state", match, seat))
            resumed.append(match)
        return resumed

    async def sweep(self) -> int:
        """Settle active matches whose deadline passed more than `abandon_after` ago."""
        cutoff = self.clock() - timedelta(seconds=self.timing.abandon_after)
        stale = await Match.find({"status": ACTIVE, "turnDeadline": {"$lt": cutoff}}).to_list()
        settled = 0
        for match in stale:
            if await self._expire(match, "abandoned") is not None:
                settled += 1
        return settled

    async def _sweep_forever(self) -> None:
        while not self.stopping:
            try:
                await self.sweep()
            except Exception:
                logger.exception("match sweep failed")
            await asyncio.sleep(self.timing.sweep_interval)

    async def history(
        self, wallet: str, limit: int, before: datetime | None
    ) -> list[dict[str, Any]]:
        query: dict[str, Any] = {"wallets": wallet, "status": {"$ne": ACTIVE}}
        if before is not None:
            query["createdAt"] = {"$lt": before}
        found = await Match.find(query).sort("-createdAt").limit(limit).to_list()
        out = []
        for match in found:
            seat = match.wallets.index(wallet)
            other = match.players[1 - seat]
            winner = match.winner_wallet
            out.append({
                "matchId": str(match.id), "game": match.game, "wager": match.wager,
                "opponent": {"walletAddress": other.wallet_address, "username": other.username},
                "result": "draw" if winner is None else ("win" if winner == wallet else "loss"),
                "reason": match.result, "createdAt": match.created_at.isoformat(),
                "endedAt": match.ended_at.isoformat() if match.ended_at else None,
            })  # fmt: skip
        return out


def _move_update(match: Match, entry: MatchLogEntry) -> dict[str, Any]:
    """The one atomic update of an accepted move (`match` is the state after it)."""
    return {
        "$set": {
            "state": match.state, "turn": match.turn, "turnDeadline": match.turn_deadline,
            "updatedAt": match.updated_at,
        },
        "$inc": {"version": 1, "seq": 1},
        "$push": {"log": entry.model_dump(by_alias=True)},
    }  # fmt: skip


def _results(match: Match, winner: int | None) -> list[UpdateOne]:
    """Each player's `stats.games.<game>.wins|losses|draws` + 1 (one round trip)."""
    updates = []
    for seat, wallet in enumerate(match.wallets):
        key = "draws" if winner is None else ("wins" if seat == winner else "losses")
        inc = {"$inc": {f"stats.games.{match.game}.{key}": 1}}
        updates.append(UpdateOne({"walletAddress": wallet}, inc))
    return updates


def _logged(match: Match, entry: MatchLogEntry) -> bool:
    """Whether `match`'s log holds `entry` (same seq, seat and move) at its place."""
    if len(match.log) < entry.seq:
        return False
    found = match.log[entry.seq - 1]
    return (found.seat, found.move) == (entry.seat, entry.move)
