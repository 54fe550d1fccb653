"""Challenges: an invitation to a wagered game between two players in the same room.

A pending challenge expires after `ttl`: a timer on this node tells both players, the
TTL index removes the document later, and accept checks `expiresAt` itself (the TTL
monitor runs only once a minute). At most one pending challenge per pair, in either
direction: the partial unique index refuses a second one from the same challenger, and
a look-up refuses one the other way round. Accepting hands over to MatchService.create,
whose transaction moves the challenge to `accepted` only while it is still pending.
A wagered challenge passes the wager gates (services/wager_gates.py) when it is sent and
again when it is accepted. A challenger who leaves the room takes back what they sent;
the challengers leaving together are looked up in one query (`cancel_all_from`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo import AsyncMongoClient
from pymongo.errors import DuplicateKeyError

from clubpengu.errors import Conflict, Expired, InsufficientFunds, InvalidMessage, NotFound
from clubpengu.games import get_game
from clubpengu.models import Challenge, Match
from clubpengu.models.base import utcnow
from clubpengu.services.economy import EconomyService
from clubpengu.services.group_writer import GroupWriter
from clubpengu.services.matches import MatchService
from clubpengu.services.notices import (
    ChallengeEnded,
    ChallengeReceived,
    MatchUpdate,
    Notify,
    Player,
)
from clubpengu.services.wager_gates import WagerGates

logger = logging.getLogger(__name__)
PENDING = "pending"
# Challengers looked up in one query when they leave together (a node's crowd at once).
LEAVERS_PER_QUERY = 200


@dataclass(frozen=True)
class ChallengeSent:
    """A pending challenge, as its challenger is told it was sent."""

    challenge_id: str
    target_player_id: str
    game: str
    wager: int
    expires_at: datetime


class ChallengeService:
    def __init__(
        self,
        client: AsyncMongoClient[dict[str, Any]],
        db_name: str,
        economy: EconomyService,
        matches: MatchService,
        notify: Notify,
        *,
        ttl_seconds: float,
        max_wager: int,
        clock: Callable[[], datetime] = utcnow,
        gates: WagerGates | None = None,
        ignores: Callable[[str, str], Awaitable[bool]] | None = None,
    ) -> None:
        self.challenges = client[db_name][Challenge.Settings.name]
        self.economy = economy
        self.matches = matches
        self.notify = notify
        self.timers = matches.timers
        self.ttl = timedelta(seconds=ttl_seconds)
        self.max_wager = max_wager
        self.clock = clock
        self.gates = gates
        # (owner, wallet) -> whether owner ignores wallet (services/buddies.py).
        self.ignores = ignores
        self._leavers: GroupWriter[str] = GroupWriter(
            self._cancel_from, name="challenge-cancel", max_group=LEAVERS_PER_QUERY
        )

    async def send(
        self, challenger: Player, target: Player, game_id: str, wager: int, room: str
    ) -> ChallengeSent:
        """Create a pending challenge and tell the target. Raises InvalidMessage
        (wager, self), NotFound (game), InsufficientFunds (either side), WagerLocked,
        WagerLimit, Conflict (a pending challenge between them, or either is already
        playing); NotFound, as for a player not in the room, when the target ignores the
        challenger (checked first, so no other answer tells them apart)."""
        if self.ignores is not None and await self.ignores(target.wallet, challenger.wallet):
            raise NotFound("That player is not in this room")
        if not 0 <= wager <= self.max_wager:
            raise InvalidMessage(f"wager: must be from 0 to {self.max_wager}")
        if challenger.wallet == target.wallet:
            raise InvalidMessage("targetPlayerId: you cannot challenge yourself")
        game = get_game(game_id)
        if await self.economy.balance(challenger.wallet) < wager:
            raise InsufficientFunds(f"You need {wager} coins to offer this wager")
        if await self.economy.balance(target.wallet) < wager:
            raise InsufficientFunds(f"{target.username} cannot afford a wager of {wager}")
        await self._check_gates(challenger.wallet, target.wallet, wager)
        await self._check_not_playing(challenger, target)
        reverse = {"challengerWallet": target.wallet, "targetWallet": challenger.wallet}
        if await self.challenges.find_one(reverse | {"status": PENDING}):
            raise Conflict("They have already challenged you; answer that challenge")
        now = self.clock()
        challenge = Challenge(
            id=ObjectId(), challenger_wallet=challenger.wallet, target_wallet=target.wallet,
            game=game.id, wager=wager, room=room, created_at=now, expires_at=now + self.ttl,
        )  # fmt: skip
        try:
            await self.challenges.insert_one(challenge.model_dump(by_alias=True))
        except DuplicateKeyError:
            raise Conflict("You already have a pending challenge to this player") from None
        challenge_id, expires = str(challenge.id), challenge.expires_at
        invitation = ChallengeReceived(challenge_id, game.id, wager, expires, challenger)
        self.notify(target.wallet, invitation)
        self.timers.later(
            f"challenge:{challenge_id}", self.ttl.total_seconds(), lambda: self._expire(challenge)
        )
        return ChallengeSent(challenge_id, target.player_id, game.id, wager, expires)

    async def _check_gates(self, challenger: str, target: str, wager: int) -> None:
        """The wager gates, when this node has them (free matches pass them all)."""
        if self.gates is not None:
            await self.gates.check(challenger, target, wager)

    async def _check_not_playing(self, *players: Player) -> None:
        """One look-up for both players (a match of either is enough to refuse)."""
        wallets = [player.wallet for player in players]
        playing = await self.matches.matches.find_one(
            {"wallets": {"$in": wallets}, "status": "active"}, {"wallets": 1}
        )
        if playing is not None:
            busy = next(p for p in players if p.wallet in playing["wallets"])
            raise Conflict(f"{busy.username} is already playing a match")

    async def _pending(self, challenge_id: str, field: str, wallet: str) -> dict[str, Any]:
        """The pending challenge where `field` is `wallet`. Raises NotFound, Conflict."""
        found = None
        if ObjectId.is_valid(challenge_id):
            found = await self.challenges.find_one({"_id": ObjectId(challenge_id), field: wallet})
        if found is None:
            raise NotFound("No such challenge")
        if found["status"] != PENDING:
            raise Conflict(f"The challenge is already {found['status']}")
        return found

    async def accept(self, wallet: str, challenge_id: str) -> Match:
        """The target accepts: escrow and a new match (MatchService.create); the
        challenger is told. Raises NotFound, Conflict, Expired, InsufficientFunds,
        WagerLocked, WagerLimit (the day's room may have shrunk since the challenge)."""
        found = await self._pending(challenge_id, "targetWallet", wallet)
        if found["expiresAt"] <= self.clock():
            await self._end(found, "expired", "expired")
            raise Expired("The challenge has expired")
        await self._check_gates(found["challengerWallet"], wallet, int(found["wager"]))
        match = await self.matches.create(found)
        self._cancel_timer(found)
        other = 1 - match.wallets.index(wallet)  # the challenger, told the match started
        self.notify(match.wallets[other], MatchUpdate("match_start", match, other))
        return match

    async def decline(self, wallet: str, challenge_id: str) -> ChallengeEnded:
        found = await self._pending(challenge_id, "targetWallet", wallet)
        return await self._end(found, "declined", "declined", notify=found["challengerWallet"])

    async def cancel(self, wallet: str, challenge_id: str) -> ChallengeEnded:
        found = await self._pending(challenge_id, "challengerWallet", wallet)
        return await self._end(found, "cancelled", "cancelled", notify=found["targetWallet"])

    async def cancel_all_from(self, wallet: str) -> None:
        """The challenger left the room (or the game): cancel what they sent. Every
        leave asks, and almost every answer is "nothing": a crowd leaving at once (a
        node's players cut off together, the end of an event) made a thousand
        look-ups queue in the driver's pool ahead of every move and join of the node,
        which then waited seconds. Leaves that come while a look-up is in flight wait
        for it and are then looked up together, in one query. Raises what the
        look-up raised."""
        await self._leavers.submit(wallet)

    async def _cancel_from(self, wallets: list[str]) -> None:
        query = {"challengerWallet": {"$in": wallets}, "status": PENDING}
        async for found in self.challenges.find(query):
            try:
                await self._end(found, "cancelled", "challenger_left", found["targetWallet"])
            except Conflict:
                continue  # answered meanwhile

    async def _expire(self, challenge: Challenge) -> None:
        found = await self.challenges.find_one({"_id": challenge.id, "status": PENDING})
        if found is not None:
            both = (found["challengerWallet"], found["targetWallet"])
            await self._end(found, "expired", "expired", notify=both)

    async def _end(
        self, found: dict[str, Any], status: str, reason: str, notify: str | tuple[str, ...] = ()
    ) -> ChallengeEnded:
        """pending → `status` (only if still pending) and tell `notify`. Raises Conflict."""
        changed = await self.challenges.update_one(
            {"_id": found["_id"], "status": PENDING}, {"$set": {"status": status}}
        )
        if changed.matched_count == 0:
            raise Conflict("The challenge was answered meanwhile")
        self._cancel_timer(found)
        ended = ChallengeEnded(str(found["_id"]), reason)
        for wallet in (notify,) if isinstance(notify, str) else notify:
            self.notify(wallet, ended)
        return ended

    def _cancel_timer(self, found: dict[str, Any]) -> None:
        self.timers.cancel(f"challenge:{found['_id']}")
