"""`join` and `change_room` (PROTOCOL.md §2): entering the world and moving between rooms."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from typing import Any

from clubpengu.errors import CloseCode, Conflict, DomainError, NotAuthenticated, NotInRoom
from clubpengu.models import User
from clubpengu.realtime.connection import Connection
from clubpengu.realtime.hub import Member
from clubpengu.realtime.rooms import RoomSpec
from clubpengu.runtime import Runtime
from clubpengu.services.auth import SessionInfo, short
from clubpengu.services.presence import Place
from clubpengu.transport.messages import ChangeRoom, Join, Rooms
from clubpengu.transport.router import Router

logger = logging.getLogger(__name__)
GUEST_CUSTOMIZATION = {"color": "gray"}
# Set on an older connection of a wallet whose place a newer connection takes over.
HANDOVER = "handover"
HANDOVER_SECONDS = 5.0  # the newer join takes the place at once; this is a safety net


def _player_id() -> str:
    return "p" + secrets.token_hex(8)


async def _session_for(runtime: Runtime, connection: Connection, token: str | None) -> SessionInfo:
    if token is not None:
        return await runtime.auth.authenticate(token)
    session: SessionInfo | None = connection.attributes.get("session")
    if session is None:
        raise NotAuthenticated("Send your token, or sign in on this connection first")
    return session


def _arm_expiry(runtime: Runtime, connection: Connection, session: SessionInfo) -> None:
    """Close with 4003 when the token expires, while the socket is still open."""
    delay = (session.expires_at - runtime.auth.clock()).total_seconds()
    loop = asyncio.get_running_loop()

    def expire() -> None:
        task = asyncio.create_task(
            connection.close(CloseCode.CLOSE_4003_SESSION_ENDED, "token expired")
        )
        connection.attributes["expiry_task"] = task  # keep a reference until it runs

    handle = loop.call_later(max(delay, 0.0), expire)
    connection.on_close.append(_cancel_timer(handle))


def _cancel_timer(handle: asyncio.TimerHandle) -> Any:
    async def cancel(connection: Connection) -> None:
        handle.cancel()

    return cancel


def _place(member: Member | None) -> Place | None:
    """Where a member is, for presence; None when it is in no room."""
    if member is None or member.room is None:
        return None
    return Place(member.room.spec.id, member.room.id, member.x, member.y)


def _start_position(user: User | None, spec: RoomSpec) -> tuple[float, float]:
    if user and user.last_room == spec.id and user.last_x is not None and user.last_y is not None:
        return spec.clamp(user.last_x, user.last_y)
    return spec.spawn


class WorldHandlers:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.hub = runtime.hub
        self.grace = runtime.grace
        self.grace.expire = self.expire
        runtime.sessions.displaced_hooks.append(self.displaced)

    async def on_close(self, connection: Connection) -> None:
        """The socket has ended: leave at once, or park the player for the reconnect grace
        when the connection dropped (or is being handed to a newer one of its wallet)."""
        self.runtime.sessions.release(connection)
        if self._should_park(connection):
            member = self.hub.detach(connection)
            if member is not None and connection.wallet is not None:
                handover = connection.attributes.get(HANDOVER, False)
                self.grace.park(connection.wallet, member, HANDOVER_SECONDS if handover else None)
                logger.info("parked", extra={"conn": connection.id, "handover": handover})
                return  # the wallet's claim stays with the kept place
        self.runtime.sessions.disown(connection.id)
        member = self.hub.member(connection)
        place = _place(member)
        await self.hub.leave(connection)
        if connection.wallet and connection.player_id:
            await self._record_leave(connection.wallet, connection.player_id, place, member)

    async def displaced(self, wallet: str, connection_id: str) -> None:
        """A join on another node took the wallet: the place kept here for a reconnect of
        `connection_id` ends now (the others see `player_left`)."""
        member = self.grace.take(wallet, connection_id)
        if member is not None:
            await self.expire(member)

    def _should_park(self, connection: Connection) -> bool:
        if connection.wallet is None or connection.player_id is None:
            return False
        if connection.attributes.get(HANDOVER):
            return True
        return connection.dropped and self.grace.seconds > 0 and not self.runtime.shutting_down

    async def expire(self, member: Member) -> None:
        """The grace is over (or the node stops): leave the room, record presence."""
        place = _place(member)
        self.runtime.sessions.disown(member.connection.id)
        await self.hub.remove(member)
        if member.wallet is not None:
            await self._record_leave(member.wallet, member.player_id, place, member)

    async def _record_leave(
        self, wallet: str, player_id: str, place: Place | None, member: Member | None = None
    ) -> None:
        connection = member.connection if member else None
        joined_at = connection.attributes.get("joined_at") if connection else None
        if joined_at is not None:
            online = round(time.monotonic() - joined_at, 1)
            self.runtime.stats.queue(wallet, "world.secondsOnline", online)
        await self.runtime.presence.disconnected(wallet, player_id, place)

    async def join(self, connection: Connection, message: Join) -> dict[str, Any]:
        if connection.player_id is not None:
            raise Conflict("Already joined; use change_room to move")
        if self.on_close not in connection.on_close:
            connection.on_close.append(self.on_close)
        connection.client_version = message.client_version
        signed_in = message.token is not None or "session" in connection.attributes
        if not signed_in and not self.runtime.settings.require_wallet_auth:
            return await self.join_as_guest(connection, message)
        return await self.join_as_player(connection, message)

    async def join_as_player(self, connection: Connection, message: Join) -> dict[str, Any]:
        session = await _session_for(self.runtime, connection, message.token)
        user = await User.find_one(User.wallet_address == session.wallet)
        if user is None:
            raise NotAuthenticated("No player for this token; sign in again")
        connection.wallet, connection.session_id = session.wallet, session.session_id
        connection.role, connection.username = session.role, user.username
        # The newest session wins: older ones leave their rooms before this one is seated.
        # An older one of this node that is in a room hands its place over (parks it) so
        # that a reconnect before the old socket is noticed dead causes no flicker either.
        for older in self.runtime.sessions.live(session.wallet):
            if older is not connection and self.hub.member(older) is not None:
                older.attributes[HANDOVER] = True
        ttl = (session.expires_at - self.runtime.auth.clock()).total_seconds()
        await self.runtime.sessions.claim(connection, ttl)
        if connection.closed:  # a newer join of the wallet won while this one claimed
            raise Conflict("Replaced by a newer session of this wallet")
        parked = self.grace.take(session.wallet)
        if parked is not None and parked.room is not None:
            if message.room in (None, parked.room.id, parked.room.spec.id):
                return await self._resume(connection, parked, user, session)
            await self.hub.remove(parked)  # it asked for another room: the old place ends
        return await self._enter(connection, message, user, session)

    async def _enter(
        self, connection: Connection, message: Join, user: User, session: SessionInfo
    ) -> dict[str, Any]:
        prefer = None
        if message.room is not None:
            spec, instance = self.hub.resolve(message.room)
        else:  # back to the room they were last in, the same instance if it has a seat
            catalogue = self.hub.catalogue
            known_last = catalogue.get(user.last_room or "")
            spec, instance = known_last or catalogue.rooms[catalogue.default], None
            prefer = user.last_instance if known_last else None
        x, y = _start_position(user, spec)
        member = Member(
            connection, _player_id(), user.wallet_address, user.username,
            dict(user.customization), x, y,
        )  # fmt: skip
        connection.hold()  # `joined` first, then the room's traffic (Connection.hold)
        players = await self.hub.join(member, spec, instance, prefer)
        return await self._joined(connection, member, user, session, players)

    async def _resume(
        self, connection: Connection, member: Member, user: User, session: SessionInfo
    ) -> dict[str, Any]:
        """Back within the grace: same room, position and player id; nobody is told."""
        connection.hold()
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
    ) -> dict[str, Any]:
        assert member.room is not None
        _arm_expiry(self.runtime, connection, session)
        room_id = member.room.id
        await self.runtime.presence.connected(
            user.wallet_address, member.player_id, member.room.spec.id, room_id
        )
        self.runtime.events.record("join", user.wallet_address, room=room_id)
        self.runtime.stats.queue(user.wallet_address, "world.roomsVisited")
        connection.attributes.setdefault("joined_at", time.monotonic())
        if self.runtime.settings.daily_bonus_coins:
            # The daily bonus arrives as a `coins` push just after `joined`.
            bonus = self.runtime.economy.daily_bonus(user.wallet_address)
            self.runtime.spawn(bonus, "daily-bonus")
        logger.info("joined", extra={"conn": connection.id, "wallet": short(user.wallet_address)})
        return {
            "type": "joined",
            "playerId": member.player_id,
            "room": member.room.id,
            "user": user.public_profile(),
            "players": players,
        }

    async def join_as_guest(self, connection: Connection, message: Join) -> dict[str, Any]:
        spec, instance = self.hub.resolve(message.room or self.hub.catalogue.default)
        username = f"Guest{secrets.randbelow(10_000):04d}"
        member = Member(
            connection, _player_id(), None, username, dict(GUEST_CUSTOMIZATION), *spec.spawn
        )
        connection.hold()
        players = await self.hub.join(member, spec, instance)
        connection.guest, connection.username = True, username
        return {
            "type": "joined",
            "playerId": member.player_id,
            "room": connection.room,
            "user": _guest_profile(username),
            "players": players,
        }

    async def change_room(self, connection: Connection, message: ChangeRoom) -> dict[str, Any]:
        member = self.hub.member(connection)
        if member is None or member.room is None:
            raise NotInRoom()
        spec, instance = self.hub.resolve(message.room)
        current = member.room
        if instance == current.id or (instance is None and spec.id == current.spec.id):
            raise Conflict(f"Already in {current.id}")
        old_position = member.x, member.y
        member.x, member.y = spec.spawn
        connection.hold()
        try:
            players = await self.hub.join(member, spec, instance)
        except DomainError:
            member.x, member.y = old_position
            raise
        room_id = connection.room
        assert room_id is not None
        if connection.wallet:
            self.runtime.events.record(
                "room_change", connection.wallet, fromRoom=current.id, toRoom=room_id
            )
            self.runtime.stats.queue(connection.wallet, "world.roomsVisited")
        profile: dict[str, Any] | None = _guest_profile(member.username)
        if connection.wallet:
            await self.runtime.presence.connected(
                connection.wallet, member.player_id, spec.id, room_id
            )
            user = await User.find_one(User.wallet_address == connection.wallet)
            profile = user.public_profile() if user else None
        return {
            "type": "joined",
            "playerId": member.player_id,
            "room": room_id,
            "user": profile,
            "players": players,
        }


def _guest_profile(username: str) -> dict[str, Any]:
    return {"walletAddress": None, "username": username, "guest": True}


def register(router: Router, runtime: Runtime) -> None:
    handlers = WorldHandlers(runtime)

    # The room browser: public, so a lobby can show it before anyone signs in.
    async def rooms(connection: Connection, message: Rooms) -> dict[str, Any]:
        return {"type": "rooms", "rooms": await runtime.hub.listing()}

    router.add("join", Join, handlers.join, public=True)
    router.add("change_room", ChangeRoom, handlers.change_room)
    router.add("rooms", Rooms, rooms, public=True)
