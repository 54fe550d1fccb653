"""The rules of entering the world (docs/protocol.md §2): joining, moving between rooms, and
what happens when a socket ends — leave at once, or park the player for a reconnect.

- A `join` with a token (or after `auth_verify` on the same connection) seats the wallet's
  player; the newest session wins: older ones leave their rooms before this one is
  seated, and an older connection of this node that is in a room hands its place over
  (parks it) so that a reconnect before the old socket is noticed dead causes no flicker.
- A player back within RECONNECT_GRACE gets their parked place back (same room, position
  and player id); nobody else is told.
- Guests (REQUIRE_WALLET_AUTH=false) own and persist nothing.
The transport turns a `Joined` into the `joined` frame.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from clubpengu.background import Spawn
from clubpengu.errors import (
    Banned,
    CloseCode,
    Conflict,
    DomainError,
    ErasureInProgress,
    NotAuthenticated,
    NotInRoom,
)
from clubpengu.models import User
from clubpengu.realtime.connection import Connection
from clubpengu.realtime.grace import ReconnectGrace
from clubpengu.realtime.hub import Hub, Member, Room
from clubpengu.realtime.registry import ConnectionRegistry
from clubpengu.realtime.rooms import RoomSpec
from clubpengu.realtime.sessions import SessionRegistry
from clubpengu.services.auth import AuthService, SessionInfo, short
from clubpengu.services.buddy_presence import BuddyPresence
from clubpengu.services.economy import EconomyService
from clubpengu.services.events import EventRecorder
from clubpengu.services.presence import Place, PresenceService, place_fields
from clubpengu.services.progress import bonus_due
from clubpengu.services.sanctions import (
    ban_in_force,
    connection_mute,
    mute_in_force,
    until_text,
)
from clubpengu.services.stamp_sessions import StampSessions
from clubpengu.services.stats import StatsBatcher

logger = logging.getLogger(__name__)
# Run work in the background; the node's shutdown waits for it.
GUEST_CUSTOMIZATION = {"color": "gray"}
# Set on an older connection of a wallet whose place a newer connection takes over.
HANDOVER = "handover"
HANDOVER_SECONDS = 5.0  # the newer join takes the place at once; this is a safety net
SESSION = "session"  # the connection's SessionInfo, once it signed in (handlers/auth.py)
SIGNED_IN = "signed_in"  # the connection's SignedInUser, until a join takes it
# How long the user a sign-in returned stands for the user at the join that follows it.
SIGNED_IN_REUSE_SECONDS = 10.0


@dataclass(frozen=True)
class SignedInUser:
    """The user as the connection's sign-in has just read or written it, and whether that
    sign-in created it. The join that is the connection's next request, within
    SIGNED_IN_REUSE_SECONDS, takes it instead of reading the user again: any other
    request in between (a purchase, an equip) may have changed the user. A ban or a mute
    since the sign-in reaches the connection anyway (SessionRegistry closes or mutes
    every connection of the wallet, signed in or joined)."""

    user: User
    created: bool
    request: int  # the sign-in's `Connection.requests`
    at: float = field(default_factory=time.monotonic)

    def reusable(self, connection: Connection, wallet: str) -> bool:
        return (
            connection.requests == self.request + 1
            and self.user.wallet_address == wallet
            and time.monotonic() - self.at < SIGNED_IN_REUSE_SECONDS
        )


@dataclass(frozen=True)
class Joined:
    """Where a join or room change put the player: their id, the room instance, who is
    there, and their own record (`user`; None for a guest, named by `guest`)."""

    player_id: str
    room: str | None
    players: list[dict[str, Any]]
    user: User | None = None
    guest: str | None = None


@dataclass(frozen=True)
class _Entry:
    """How a join enters: a new member with the seat reserved for it, or (all None) the
    place kept for the wallet's reconnect."""

    member: Member | None = None
    spec: RoomSpec | None = None
    seat: str | None = None


@dataclass(frozen=True)
class WorldRules:
    require_wallet_auth: bool = True
    daily_bonus: bool = True  # pay the daily bonus on a join (DAILY_BONUS_COINS > 0)
    # ... to a wallet that has played or is this old (DAILY_BONUS_MIN_AGE)
    bonus_min_age: timedelta = timedelta(0)


def _player_id() -> str:
    return "p" + secrets.token_hex(8)


def _place(member: Member | None) -> Place | None:
    """Where a member is, for presence; None when it is in no room."""
    if member is None or member.room is None:
        return None
    return Place(member.room.spec.id, member.room.id, member.x, member.y)


async def _after(written: asyncio.Future[None], work: Coroutine[Any, Any, Any]) -> Any:
    """`work` once the presence write is made (or failed): both write the user, and a
    transaction (the bonus's) that meets a write to the same document is aborted and run
    again."""
    try:
        await asyncio.wait([written])  # whatever its outcome; the future is not cancelled
    except BaseException:
        work.close()  # cancelled (the node stops) before it started: never awaited
        raise
    return await work


def _start_position(user: User, spec: RoomSpec) -> tuple[float, float]:
    if user.last_room == spec.id and user.last_x is not None and user.last_y is not None:
        return spec.clamp(user.last_x, user.last_y)
    return spec.arrival(user.wallet_address)


class WorldService:
    def __init__(
        self,
        hub: Hub,
        grace: ReconnectGrace,
        sessions: SessionRegistry,
        connections: ConnectionRegistry,
        auth: AuthService,
        presence: PresenceService,
        events: EventRecorder,
        stats: StatsBatcher,
        economy: EconomyService,
        spawn: Spawn,
        rules: WorldRules,
        stamps: StampSessions | None = None,
    ) -> None:
        self.hub, self.grace, self.sessions, self.connections = hub, grace, sessions, connections
        self.auth, self.presence, self.events, self.stats = auth, presence, events, stats
        self.economy = economy
        self.spawn = spawn
        self.rules = rules
        self.stamps = stamps
        # Set by the node: tells a player's buddies they came, moved and left.
        self.buddies: BuddyPresence | None = None

    # --- joining ------------------------------------------------------------------------

    async def join(
        self,
        connection: Connection,
        token: str | None,
        room: str | None,
        client_version: str | None,
    ) -> Joined:
        """Seat the connection's player in `room` (None: where they were last). Raises
        Conflict (already joined, or replaced meanwhile), NotAuthenticated, InvalidMessage
        (no such room), RoomFull."""
        if connection.player_id is not None:
            raise Conflict("Already joined; use change_room to move")
        if self.ended not in connection.on_close:
            connection.on_close.append(self.ended)
        connection.client_version = client_version
        signed_in = token is not None or SESSION in connection.attributes
        if not signed_in and not self.rules.require_wallet_auth:
            return await self._join_as_guest(connection, room)
        return await self._join_as_player(connection, token, room)

    async def _session_for(self, connection: Connection, token: str | None) -> SessionInfo:
        if token is not None:
            return await self.auth.authenticate(token)
        session: SessionInfo | None = connection.attributes.get(SESSION)
        if session is None:
            raise NotAuthenticated("Send your token, or sign in on this connection first")
        return session

    async def _user_for(
        self, connection: Connection, token: str | None
    ) -> tuple[User, SignedInUser | None]:
        """The player of the token (or of this connection's sign-in), refused while a ban
        is in force, and the sign-in's SignedInUser when that is the user (no query: see
        SignedInUser). The ban is checked before the session: a ban revokes the wallet's
        sessions, and its token must still say why it cannot come in. Raises
        NotAuthenticated, Banned."""
        taken: SignedInUser | None = connection.attributes.pop(SIGNED_IN, None)
        if token is not None:
            wallet = str(self.auth.decode(token)["sub"])
        else:
            signed_in: SessionInfo | None = connection.attributes.get(SESSION)
            if signed_in is None:
                raise NotAuthenticated("Send your token, or sign in on this connection first")
            wallet = signed_in.wallet
        reused = taken if token is None and taken is not None else None
        if reused is not None and reused.reusable(connection, wallet):
            user: User | None = reused.user
        else:
            reused = None
            user = await User.find_one(User.wallet_address == wallet)
        if user is None:
            raise NotAuthenticated("No player for this token; sign in again")
        if user.erasing_since is not None:  # before the session: the erasure revokes it
            raise ErasureInProgress()
        ban = ban_in_force(user.moderation, self.auth.clock())
        if ban is not None:  # on the User the join reads anyway: no query of its own
            raise Banned(until_text(ban.until))
        return user, reused

    async def _join_as_player(
        self, connection: Connection, token: str | None, room: str | None
    ) -> Joined:
        # Everything that can refuse the join (a ban, the token, the player, the room, the
        # instance, a free seat) is settled before the wallet's live session is touched:
        # a join that fails kicks nobody and changes nothing. From data already at hand,
        # so a successful join costs no extra database command.
        user, signed_in = await self._user_for(connection, token)
        session = await self._session_for(connection, token)
        if session.wallet != user.wallet_address:
            raise NotAuthenticated("The session has ended; sign in again")
        created = signed_in is not None and signed_in.created
        entry = await self._plan_entry(connection, room, user)
        if signed_in is None:  # else the sign-in set it, and mutes since then reached it
            connection.mute = connection_mute(mute_in_force(user.moderation, self.auth.clock()))
        try:
            await self._take_over(connection, session, user)
        except BaseException:
            await self._cancel(entry)
            raise
        return await self._complete(connection, entry, room, user, session, created)

    async def _plan_entry(self, connection: Connection, room: str | None, user: User) -> _Entry:
        """Where the join will put the player: back in the place kept for a reconnect, or
        a seat reserved now in the room asked for, for a member shown with the walking
        puffle the User names and counting the matches it counts (no look-up of either:
        see User.walking_puffle). Raises InvalidMessage, RoomFull."""
        kept = self._kept_room(user.wallet_address)
        if kept is not None and room in (None, kept.id, kept.spec.id):
            return _Entry()
        spec, instance, prefer = self._destination(room, user)
        x, y = _start_position(user, spec)
        member = Member(
            connection, _player_id(), user.wallet_address, user.username,
            dict(user.customization), x, y, active_matches=user.active_matches,
        )  # fmt: skip
        if user.walking_puffle is not None:
            member.extras["puffle"] = user.walking_puffle.view()
        seat = await self.hub.reserve(member, spec, instance, prefer)
        return _Entry(member, spec, seat)

    def _kept_room(self, wallet: str) -> Room | None:
        """The room of the place this join would take back: one kept for the wallet's
        reconnect, or that of an older connection of this node, which hands its place
        over when it is kicked."""
        parked = self.grace.peek(wallet)
        if parked is not None and parked.room is not None:
            return parked.room
        for older in self.sessions.live(wallet):
            member = self.hub.member(older)
            if member is not None and member.room is not None:
                return member.room
        return None

    def _destination(self, room: str | None, user: User) -> tuple[RoomSpec, str | None, str | None]:
        """The room asked for (an exact instance or none), or, without one, the room the
        player was last in, preferring the same instance. Raises InvalidMessage."""
        if room is not None:
            spec, instance = self.hub.resolve(room)
            return spec, instance, None
        catalogue = self.hub.catalogue
        known_last = catalogue.get(user.last_room or "")
        spec = known_last or catalogue.rooms[catalogue.default]
        return spec, None, user.last_instance if known_last else None

    async def _take_over(self, connection: Connection, session: SessionInfo, user: User) -> None:
        """Make this connection the wallet's live session; older ones are kicked (4001),
        and one of this node that is in a room hands its place over. Raises Conflict when
        a newer join of the wallet won meanwhile."""
        connection.wallet, connection.session_id = session.wallet, session.session_id
        connection.role, connection.username = session.role, user.username
        for older in self.sessions.live(session.wallet):
            if older is not connection and self.hub.member(older) is not None:
                older.attributes[HANDOVER] = True
        ttl = (session.expires_at - self.auth.clock()).total_seconds()
        await self.sessions.claim(connection, ttl)
        if connection.closed:  # a newer join of the wallet won while this one claimed
            raise Conflict("Replaced by a newer session of this wallet")

    async def _cancel(self, entry: _Entry) -> None:
        if entry.seat is not None and entry.member is not None:
            await self.hub.release_seat(entry.seat, entry.member)

    async def _complete(
        self,
        connection: Connection,
        entry: _Entry,
        room: str | None,
        user: User,
        session: SessionInfo,
        created: bool = False,
    ) -> Joined:
        """`created`: the sign-in on this connection has just created the player."""
        parked = self.grace.take(session.wallet)
        if entry.member is None:
            if parked is not None and parked.room is not None:
                return await self._resume(connection, parked, user, session)
            # The kept place ended while this join took over: enter as new.
            entry = await self._plan_entry(connection, room, user)
        elif parked is not None and parked.room is not None:
            await self.hub.remove(parked)  # it asked for another room: the old place ends
        assert entry.member is not None and entry.spec is not None and entry.seat is not None
        connection.hold()  # `joined` first, then the room's traffic (Connection.hold)
        players = await self.hub.take_seat(entry.member, entry.spec, entry.seat)
        return await self._joined(connection, entry.member, user, session, players, created)

    async def _resume(
        self, connection: Connection, member: Member, user: User, session: SessionInfo
    ) -> Joined:
        """Back within the grace: same room, position and player id; nobody is told. The
        matches counted are the User's now (a later room of this connection resumes
        them), not those of the join that first seated the member."""
        connection.hold()
        member.active_matches = user.active_matches
        self.hub.attach(member, connection)
        assert member.room is not None
        players = [other.public() for other in member.room.members.values()]
        logger.info("resumed", extra={"conn": connection.id, "wallet": short(user.wallet_address)})
        return await self._joined(connection, member, user, session, players)

    async def _joined(
        self,
        connection: Connection,
        member: Member,
        user: User,
        session: SessionInfo,
        players: list[dict[str, Any]],
        created: bool = False,
    ) -> Joined:
        assert member.room is not None
        self._arm_expiry(connection, session)
        room_id = member.room.id
        presence = self.presence.connected(
            user.wallet_address, member.player_id, member.room.spec.id, room_id
        )
        if self.buddies is not None:
            await self.buddies.online(
                connection, user.wallet_address, member.player_id, room_id, user.social
            )
        self.events.record("join", user.wallet_address, room=room_id)
        self.stats.queue(user.wallet_address, "world.roomsVisited")
        if self.stamps is not None:
            self.stamps.joined(connection, user, member.room.spec.id)
        connection.attributes.setdefault("joined_at", time.monotonic())
        now = self.economy.clock()
        paid_on = user.daily_bonus_on
        if (
            self.rules.daily_bonus
            and paid_on != now.date().isoformat()
            and bonus_due(user, now, self.rules.bonus_min_age)
        ):
            # The daily bonus arrives as a `coins` notice just after `joined`. A user whose
            # latest bonus day is known (or who is new) is not paid today: no look-up.
            unpaid = created or paid_on is not None
            bonus = self.economy.daily_bonus(user.wallet_address, now.date(), unpaid=unpaid)
            self.spawn(_after(presence, bonus), "daily-bonus")
        logger.info("joined", extra={"conn": connection.id, "wallet": short(user.wallet_address)})
        return Joined(member.player_id, member.room.id, players, user=user)

    def _arm_expiry(self, connection: Connection, session: SessionInfo) -> None:
        """Close with 4003 when the token expires, while the socket is still open."""
        delay = (session.expires_at - self.auth.clock()).total_seconds()

        def expire() -> None:
            task = asyncio.create_task(
                connection.close(CloseCode.CLOSE_4003_SESSION_ENDED, "token expired")
            )
            connection.attributes["expiry_task"] = task  # keep a reference until it runs

        handle = asyncio.get_running_loop().call_later(max(delay, 0.0), expire)

        async def cancel(connection: Connection) -> None:
            handle.cancel()

        connection.on_close.append(cancel)

    async def _join_as_guest(self, connection: Connection, room: str | None) -> Joined:
        spec, instance = self.hub.resolve(room or self.hub.catalogue.default)
        username = f"Guest{secrets.randbelow(10_000):04d}"
        player_id = _player_id()
        member = Member(
            connection, player_id, None, username, dict(GUEST_CUSTOMIZATION),
            *spec.arrival(player_id),
        )  # fmt: skip
        connection.hold()
        players = await self.hub.join(member, spec, instance)
        connection.guest, connection.username = True, username
        return Joined(member.player_id, connection.room, players, guest=username)

    async def change_room(self, connection: Connection, room: str) -> Joined:
        """Move the player to `room`: the old room sees them leave, the new one arrive.
        Raises NotInRoom, Conflict (already there), InvalidMessage, RoomFull."""
        member = self.hub.member(connection)
        if member is None or member.room is None:
            raise NotInRoom()
        spec, instance = self.hub.resolve(room)
        current = member.room
        if instance == current.id or (instance is None and spec.id == current.spec.id):
            raise Conflict(f"Already in {current.id}")
        old_position = member.x, member.y
        member.x, member.y = spec.arrival(connection.wallet or member.player_id)
        connection.hold()
        try:
            players = await self.hub.join(member, spec, instance)
        except DomainError:
            member.x, member.y = old_position
            raise
        room_id = connection.room
        assert room_id is not None
        if not connection.wallet:
            return Joined(member.player_id, room_id, players, guest=member.username)
        self.events.record("room_change", connection.wallet, fromRoom=current.id, toRoom=room_id)
        self.stats.queue(connection.wallet, "world.roomsVisited")
        if self.stamps is not None:
            self.stamps.visited(connection, spec.id)
        self.presence.connected(connection.wallet, member.player_id, spec.id, room_id)
        if self.buddies is not None:
            await self.buddies.moved(connection.wallet, member.player_id, room_id)
        user = await User.find_one(User.wallet_address == connection.wallet)
        return Joined(member.player_id, room_id, players, user=user)

    # --- leaving ------------------------------------------------------------------------

    async def ended(self, connection: Connection) -> None:
        """The socket has ended: leave at once, or park the player for the reconnect grace
        when the connection dropped (or is being handed to a newer one of its wallet)."""
        self.sessions.release(connection)
        if self._should_park(connection):
            member = self.hub.detach(connection)
            if member is not None and connection.wallet is not None:
                handover = connection.attributes.get(HANDOVER, False)
                self.grace.park(connection.wallet, member, HANDOVER_SECONDS if handover else None)
                logger.info("parked", extra={"conn": connection.id, "handover": handover})
                return  # the wallet's claim stays with the kept place
        self.sessions.disown(connection.id)
        member = self.hub.member(connection)
        place = _place(member)
        await self.hub.leave(connection)
        if connection.wallet and connection.player_id:
            await self._record_leave(connection.wallet, connection.player_id, place, member)

    def _should_park(self, connection: Connection) -> bool:
        if connection.wallet is None or connection.player_id is None:
            return False
        if connection.attributes.get(HANDOVER):
            return True
        return connection.dropped and self.grace.seconds > 0 and not self.connections.closing

    async def displaced(self, wallet: str, connection_id: str) -> None:
        """A join on another node took the wallet: the place kept here for a reconnect of
        `connection_id` ends now (the others see `player_left`)."""
        member = self.grace.take(wallet, connection_id)
        if member is not None:
            await self.expire(member, replaced=True)

    async def banned(self, wallet: str) -> None:
        """The wallet was banned: the place kept for its reconnect ends now."""
        member = self.grace.take(wallet)
        if member is not None:
            await self.expire(member)

    async def expire(self, member: Member, *, replaced: bool = False) -> None:
        """The grace is over (or the node stops, or a newer session of the wallet took
        over: `replaced`): leave the room, record presence."""
        place = _place(member)
        self.sessions.disown(member.connection.id)
        await self.hub.remove(member)
        if member.wallet is not None:
            await self._record_leave(member.wallet, member.player_id, place, member, replaced)

    async def _record_leave(
        self,
        wallet: str,
        player_id: str,
        place: Place | None,
        member: Member | None = None,
        replaced: bool = False,
    ) -> None:
        connection = member.connection if member else None
        joined_at = connection.attributes.get("joined_at") if connection else None
        if joined_at is not None:
            online = round(time.monotonic() - joined_at, 1)
            self.stats.queue(wallet, "world.secondsOnline", online)
        if self.connections.closing:
            # The node is stopping: its stop marks every player gone in one command
            # (PresenceService.leave_all), and the final stats flush sets where each was.
            if place is not None:
                self.stats.set_with_counters(wallet, place_fields(place))
        else:
            await self.presence.disconnected(wallet, player_id, place)
        if self.buddies is not None:
            # Kicked by a newer session (4001), here or on another node: the player is
            # still online there, and their buddies must not see them leave.
            replaced = replaced or (
                connection is not None and connection.close_code == CloseCode.CLOSE_4001_REPLACED
            )
            await self.buddies.offline(wallet, player_id, connection, replaced=replaced)
