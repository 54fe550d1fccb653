"""Matches seen from the room (docs/protocol.md §11, "Who is playing whom; spectators").

- The room where a challenge was accepted is the match's room. It gets `room_match` when
  the match starts and when it ends (through the relay, so on every node), and each
  player's `<player>` carries `"match"` while they play, for those who enter later.
- Anyone in that room (but the players) may `match_watch` it: they get the spectators'
  view (nothing a seat keeps hidden) at once and after every move, and a last one at the
  end. Watchers are kept by the node that serves them; the moves they get are the ones
  this node accepts (with several nodes, players and watchers of a match are only on
  the same node when they connected to it: see docs/economy.md#matches).
"""

from __future__ import annotations

from typing import Any

from clubpengu.background import Spawn
from clubpengu.errors import InvalidMessage, NotFound, NotInRoom
from clubpengu.games import GameOver
from clubpengu.metrics import Metrics
from clubpengu.models import Match, MatchStatus
from clubpengu.realtime.connection import Connection, Shared, dumps
from clubpengu.realtime.hub import Hub, Member, Room
from clubpengu.realtime.sessions import SessionRegistry
from clubpengu.services.matches import MatchService
from clubpengu.transport import render
from clubpengu.transport.messages import MatchWatch
from clubpengu.transport.router import Router

WATCHING = "watching_match"


class Spectators:
    def __init__(
        self,
        matches: MatchService,
        hub: Hub,
        sessions: SessionRegistry,
        spawn: Spawn,
        metrics: Metrics,
    ) -> None:
        self.matches = matches
        self.hub = hub
        self.sessions = sessions
        self.spawn = spawn
        self.metrics = metrics
        self.watchers: dict[str, dict[str, Connection]] = {}  # match id → conn id → conn

    async def watch(self, connection: Connection, message: MatchWatch) -> dict[str, Any]:
        """Raises NotInRoom, NotFound (no such match in your room), GameOver,
        InvalidMessage (your own match)."""
        member = self.hub.member(connection)
        room = self.hub.room_of(connection)
        if member is None or room is None:
            raise NotInRoom()
        match = await self.matches.get(message.match_id)
        if match.room != room.id:
            raise NotFound("No such match in this room")
        if match.status != MatchStatus.ACTIVE:
            raise GameOver("The match is over")
        if member.wallet is not None and member.wallet in match.wallets:
            raise InvalidMessage("matchId: you are playing this match")
        self._drop(connection)
        self.watchers.setdefault(message.match_id, {})[connection.id] = connection
        connection.attributes[WATCHING] = message.match_id
        return render.spectate("match_watching", match)

    async def unwatch(self, connection: Connection, message: MatchWatch) -> dict[str, Any]:
        self._drop(connection)
        return {"type": "match_unwatched", "matchId": message.match_id}

    def _drop(self, connection: Connection) -> None:
        match_id = connection.attributes.pop(WATCHING, None)
        watching = self.watchers.get(match_id) if match_id else None
        if watching is not None:
            watching.pop(connection.id, None)
            if not watching:
                del self.watchers[match_id]

    # --- hooks ----------------------------------------------------------------------------

    def left(self, member: Member, room: Room) -> None:
        """A spectator watches from the match's room only."""
        self._drop(member.connection)

    def heard(self, kind: str, match: Match) -> None:
        """MatchService listener: `start`, `resume`, `move`, `end`."""
        match_id = str(match.id)
        if kind in ("start", "resume", "end"):
            self._mark_players(match, playing=kind != "end")
        if kind in ("start", "end") and match.room is not None:
            self.spawn(self.hub.announce(match.room, render.room_match(match)), "room-match")
        ended = match.status != MatchStatus.ACTIVE  # a deciding move: `end` follows
        if (kind == "end" or (kind == "move" and not ended)) and match_id in self.watchers:
            self._tell_watchers(match_id, render.spectate("match_spectate", match))
        if kind == "end":
            for connection in self.watchers.pop(match_id, {}).values():
                connection.attributes.pop(WATCHING, None)

    def _tell_watchers(self, match_id: str, frame: dict[str, Any]) -> None:
        shared = Shared(dumps(frame))
        watchers = list(self.watchers.get(match_id, {}).values())
        for connection in watchers:
            connection.send_shared(shared)
        self.metrics.message_out(frame["type"], len(watchers))

    def _mark_players(self, match: Match, *, playing: bool) -> None:
        """`<player>.match` of both players on this node, for whoever enters later."""
        for seat, wallet in enumerate(match.wallets):
            mark = {
                "matchId": str(match.id),
                "game": match.game,
                "opponent": match.wallets[1 - seat],
            }
            for connection in self.sessions.live(wallet):
                member = self.hub.member(connection)
                if member is None:
                    continue
                if playing:
                    member.extras["match"] = mark
                else:
                    member.extras.pop("match", None)
                if member.room is not None:  # the other nodes' listings of the room
                    self.hub.directory.update(member.room.id, member.public())


def register(
    router: Router,
    matches: MatchService,
    hub: Hub,
    sessions: SessionRegistry,
    spawn: Spawn,
    metrics: Metrics,
) -> None:
    spectators = Spectators(matches, hub, sessions, spawn, metrics)
    router.add("match_watch", MatchWatch, spectators.watch)
    router.add("match_unwatch", MatchWatch, spectators.unwatch)
    hub.left_hooks.append(spectators.left)
    matches.listeners.append(spectators.heard)
