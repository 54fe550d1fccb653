"""Challenges and matches over the WebSocket (docs/protocol.md §11)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from clubpengu.errors import Forbidden, NotFound, NotInRoom
from clubpengu.realtime.connection import Connection
from clubpengu.realtime.hub import Member, Room
from clubpengu.runtime import Runtime
from clubpengu.services.challenges import Player
from clubpengu.services.matches import match_frame
from clubpengu.transport.handlers import require_wallet
from clubpengu.transport.messages import (
    ChallengeAnswer,
    ChallengeSend,
    MatchForfeit,
    MatchHistory,
    MatchMove,
)
from clubpengu.transport.router import Router

RESUMED = "matches_resumed"


def _wallet(connection: Connection) -> str:
    return require_wallet(connection, "Guests cannot play wagered matches; sign in with a wallet")


def _player(member: Member) -> Player:
    if member.wallet is None:
        raise Forbidden("Guests cannot play wagered matches")
    return Player(member.wallet, member.player_id, member.username)


class MatchHandlers:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.challenges = runtime.challenges
        self.matches = runtime.matches

    async def challenge(self, connection: Connection, message: ChallengeSend) -> dict[str, Any]:
        _wallet(connection)
        member = self.runtime.hub.member(connection)
        room = self.runtime.hub.room_of(connection)
        if member is None or room is None:
            raise NotInRoom()
        target = await self._target(room, message.target_player_id)
        return await self.challenges.send(
            _player(member), target, message.game, message.wager, room.id
        )

    async def _target(self, room: Room, player_id: str) -> Player:
        """A player in the challenger's room, on this node or (many nodes) another one."""
        local = room.members.get(player_id)
        if local is not None:
            return _player(local)
        if self.runtime.hub.directory.shared:
            for other in await self.runtime.hub.directory.others(room.id):
                if other["playerId"] == player_id and other.get("walletAddress"):
                    return Player(other["walletAddress"], player_id, other["username"])
        raise NotFound("That player is not in this room")

    async def accept(self, connection: Connection, message: ChallengeAnswer) -> dict[str, Any]:
        wallet = _wallet(connection)
        match = await self.challenges.accept(wallet, message.challenge_id)
        seat = match.wallets.index(wallet)
        other = 1 - seat
        self.runtime.push(match.wallets[other], match_frame("match_start", match, other))
        return match_frame("match_start", match, seat)

    async def decline(self, connection: Connection, message: ChallengeAnswer) -> dict[str, Any]:
        return await self.challenges.decline(_wallet(connection), message.challenge_id)

    async def cancel(self, connection: Connection, message: ChallengeAnswer) -> dict[str, Any]:
        return await self.challenges.cancel(_wallet(connection), message.challenge_id)

    async def move(self, connection: Connection, message: MatchMove) -> dict[str, Any]:
        wallet = _wallet(connection)
        match = await self.matches.move(wallet, message.match_id, message.move)
        return match_frame("match_state", match, match.wallets.index(wallet))

    async def forfeit(self, connection: Connection, message: MatchForfeit) -> dict[str, Any]:
        await self.matches.forfeit(_wallet(connection), message.match_id)
        return {"type": "match_forfeited", "matchId": message.match_id}

    async def history(self, connection: Connection, message: MatchHistory) -> dict[str, Any]:
        found = await self.matches.history(_wallet(connection), message.limit, message.before)
        return {"type": "match_history", "matches": found}

    # --- hooks from the hub -------------------------------------------------------------

    def entered(self, member: Member, room: Room) -> None:
        """First room of a connection: give the player their active matches back."""
        attributes = member.connection.attributes
        if member.wallet is None or attributes.get(RESUMED):
            return
        attributes[RESUMED] = True
        wallet = member.wallet
        member.connection.after_reply.append(
            lambda: self.matches.spawn(self.matches.resume(wallet), "match-resume")
        )

    def left(self, member: Member, room: Room) -> None:
        """Leaving the room cancels the challenges sent; a disconnect forfeits the
        player's matches unless they are back within MATCH_DISCONNECT_GRACE."""
        wallet = member.wallet
        if wallet is None or self.runtime.shutting_down or self.matches.stopping:
            return
        self.matches.spawn(self.challenges.cancel_all_from(wallet), "challenge-cancel")
        if member.connection.closed:
            grace = self.runtime.settings.match_disconnect_grace_seconds
            self.matches.later(f"grace:{wallet}", grace, self._gone(wallet))

    def _gone(self, wallet: str) -> Callable[[], Coroutine[Any, Any, int]]:
        async def check() -> int:
            if any(not c.closed for c in self.runtime.sessions.live(wallet)):
                return 0
            return await self.matches.forfeit_all(wallet, "disconnect")

        return check


def register(router: Router, runtime: Runtime) -> None:
    handlers = MatchHandlers(runtime)
    router.add("challenge", ChallengeSend, handlers.challenge)
    router.add("challenge_accept", ChallengeAnswer, handlers.accept)
    router.add("challenge_decline", ChallengeAnswer, handlers.decline)
    router.add("challenge_cancel", ChallengeAnswer, handlers.cancel)
    router.add("match_move", MatchMove, handlers.move)
    router.add("match_forfeit", MatchForfeit, handlers.forfeit)
    router.add("match_history", MatchHistory, handlers.history)
    runtime.hub.entered_hooks.append(handlers.entered)
    runtime.hub.left_hooks.append(handlers.left)
