"""Challenges and matches over the WebSocket (docs/protocol.md §11)."""

from __future__ import annotations

from typing import Any

from clubpengu.errors import Forbidden, InvalidMessage, NotFound, NotInRoom
from clubpengu.realtime.connection import Connection
from clubpengu.realtime.hub import Hub, Member, Room
from clubpengu.services.challenges import ChallengeService
from clubpengu.services.matches import MatchService
from clubpengu.services.notices import Player
from clubpengu.transport import render
from clubpengu.transport.handlers import require_wallet
from clubpengu.transport.messages import (
    ChallengeAnswer,
    ChallengeSend,
    MatchForfeit,
    MatchHistory,
    MatchMove,
)
from clubpengu.transport.router import Router


def _wallet(connection: Connection) -> str:
    return require_wallet(connection, "Guests cannot play wagered matches; sign in with a wallet")


def _player(member: Member) -> Player:
    if member.wallet is None:
        raise Forbidden("Guests cannot play wagered matches")
    return Player(member.wallet, member.player_id, member.username)


class MatchHandlers:
    def __init__(self, challenges: ChallengeService, matches: MatchService, hub: Hub) -> None:
        self.challenges = challenges
        self.matches = matches
        self.hub = hub

    async def challenge(self, connection: Connection, message: ChallengeSend) -> dict[str, Any]:
        wallet = _wallet(connection)
        member = self.hub.member(connection)
        room = self.hub.room_of(connection)
        if member is None or room is None:
            raise NotInRoom()
        if message.opponent == "computer":
            return await self._computer(wallet, message, room, member.username)
        if message.target_player_id is None:
            raise InvalidMessage('targetPlayerId: required (or "opponent": "computer")')
        target = await self._target(room, message.target_player_id)
        sent = await self.challenges.send(
            _player(member), target, message.game, message.wager, room.id
        )
        return render.challenge_sent(sent)

    async def _computer(
        self, wallet: str, message: ChallengeSend, room: Room, username: str
    ) -> dict[str, Any]:
        """A match against the computer, started at once: `match_start` is the reply."""
        if "wager" in message.model_fields_set:
            raise InvalidMessage("wager: there are no wagers against the computer")
        if message.target_player_id is not None:
            raise InvalidMessage('targetPlayerId: not with "opponent": "computer"')
        match = await self.matches.play_computer(
            wallet, message.game, message.level, room.id, username
        )
        return render.match_view("match_start", match, match.wallets.index(wallet))

    async def _target(self, room: Room, player_id: str) -> Player:
        """A player in the challenger's room, on this node or (many nodes) another one."""
        local = room.members.get(player_id)
        if local is not None:
            return _player(local)
        if self.hub.directory.shared:
            for other in await self.hub.directory.others(room.id):
                if other["playerId"] == player_id and other.get("walletAddress"):
                    return Player(other["walletAddress"], player_id, other["username"])
        raise NotFound("That player is not in this room")

    async def accept(self, connection: Connection, message: ChallengeAnswer) -> dict[str, Any]:
        wallet = _wallet(connection)
        match = await self.challenges.accept(wallet, message.challenge_id)
        return render.match_view("match_start", match, match.wallets.index(wallet))

    async def decline(self, connection: Connection, message: ChallengeAnswer) -> dict[str, Any]:
        ended = await self.challenges.decline(_wallet(connection), message.challenge_id)
        return render.challenge_ended(ended)

    async def cancel(self, connection: Connection, message: ChallengeAnswer) -> dict[str, Any]:
        ended = await self.challenges.cancel(_wallet(connection), message.challenge_id)
        return render.challenge_ended(ended)

    async def move(self, connection: Connection, message: MatchMove) -> dict[str, Any]:
        wallet = _wallet(connection)
        match = await self.matches.move(wallet, message.match_id, message.move)
        return render.match_view("match_state", match, match.wallets.index(wallet))

    async def forfeit(self, connection: Connection, message: MatchForfeit) -> dict[str, Any]:
        await self.matches.forfeit(_wallet(connection), message.match_id)
        return {"type": "match_forfeited", "matchId": message.match_id}

    async def history(self, connection: Connection, message: MatchHistory) -> dict[str, Any]:
        found = await self.matches.history(_wallet(connection), message.limit, message.before)
        return {"type": "match_history", "matches": [render.past_match(p) for p in found]}


def register(router: Router, challenges: ChallengeService, matches: MatchService, hub: Hub) -> None:
    handlers = MatchHandlers(challenges, matches, hub)
    router.add("challenge", ChallengeSend, handlers.challenge)
    router.add("challenge_accept", ChallengeAnswer, handlers.accept)
    router.add("challenge_decline", ChallengeAnswer, handlers.decline)
    router.add("challenge_cancel", ChallengeAnswer, handlers.cancel)
    router.add("match_move", MatchMove, handlers.move)
    router.add("match_forfeit", MatchForfeit, handlers.forfeit)
    router.add("match_history", MatchHistory, handlers.history)
