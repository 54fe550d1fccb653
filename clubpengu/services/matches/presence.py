"""What a player's coming and going means for their matches (the hub's room hooks).

- The first room of a connection gives the player their active matches back, after the
  reply to the `join` (a resumed match is told after `joined`, not before it).
- Leaving a room cancels the challenges the player sent.
- A disconnect forfeits the player's matches unless one of their connections is live
  again within MATCH_DISCONNECT_GRACE.
Nothing of this starts while the node is shutting down: its players' matches wait in the
database for them (and for another node's timers).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from clubpengu.realtime.hub import Member, Room
from clubpengu.realtime.registry import ConnectionRegistry
from clubpengu.realtime.sessions import SessionRegistry
from clubpengu.services.challenges import ChallengeService
from clubpengu.services.matches.service import MatchService

# Set on a connection once its matches were resumed (one resume per connection).
RESUMED = "matches_resumed"


class MatchPresence:
    def __init__(
        self,
        matches: MatchService,
        challenges: ChallengeService,
        sessions: SessionRegistry,
        connections: ConnectionRegistry,
        *,
        disconnect_grace: float,
    ) -> None:
        self.matches = matches
        self.challenges = challenges
        self.sessions = sessions
        self.connections = connections
        self.disconnect_grace = disconnect_grace

    def entered(self, member: Member, room: Room) -> None:
        """First room of a connection: give the player their active matches back, looked
        up only when their User counts some (`activeMatches`)."""
        attributes = member.connection.attributes
        if member.wallet is None or attributes.get(RESUMED):
            return
        attributes[RESUMED] = True
        counted = member.active_matches
        if counted == 0:
            return
        wallet = member.wallet
        timers = self.matches.timers
        member.connection.after_reply.append(
            lambda: timers.spawn(self.matches.resume(wallet, counted), "match-resume")
        )

    def left(self, member: Member, room: Room) -> None:
        """Leaving the room cancels the challenges sent; a disconnect forfeits the
        player's matches unless they are back within the grace."""
        wallet = member.wallet
        if wallet is None or self.connections.closing or self.matches.stopping:
            return
        timers = self.matches.timers
        timers.spawn(self.challenges.cancel_all_from(wallet), "challenge-cancel")
        if member.connection.closed:
            timers.later(f"grace:{wallet}", self.disconnect_grace, self._gone(wallet))

    def _gone(self, wallet: str) -> Callable[[], Coroutine[Any, Any, None]]:
        async def check() -> None:
            if any(not c.closed for c in self.sessions.live(wallet)):
                return
            await self.matches.forfeit_gone(wallet)

        return check
