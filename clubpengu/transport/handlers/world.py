"""`join` and `change_room` (PROTOCOL.md §2): entering the world and moving between rooms."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from typing import Any

from clubpengu.errors import CloseCode, Conflict, NotAuthenticated, NotInRoom, RoomFull
from clubpengu.models import User
from clubpengu.realtime.connection import Connection
from clubpengu.realtime.hub import Member
from clubpengu.realtime.rooms import RoomSpec
from clubpengu.runtime import Runtime
from clubpengu.services.auth import SessionInfo, short
from clubpengu.transport.messages import ChangeRoom, Join
from clubpengu.transport.router import Router

logger = logging.getLogger(__name__)
GUEST_CUSTOMIZATION = {"color": "gray"}


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


def _start_position(user: User | None, spec: RoomSpec) -> tuple[float, float]:
    if user and user.last_room == spec.id and user.last_x is not None and user.last_y is not None:
        return spec.clamp(user.last_x, user.last_y)
    return spec.spawn


class WorldHandlers:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.hub = runtime.hub

    async def on_close(self, connection: Connection) -> None:
        member = self.hub.leave(connection)
        self.runtime.sessions.release(connection)
        if connection.wallet and connection.player_id:
            joined_at = connection.attributes.get("joined_at")
            if joined_at is not None:
                online = round(time.monotonic() - joined_at, 1)
                self.runtime.stats.queue(connection.wallet, "world.secondsOnline", online)
            x, y = (member.x, member.y) if member else (None, None)
            room = connection.attributes.get("last_room")
            await self.runtime.presence.disconnected(
                connection.wallet, connection.player_id, room, x, y
            )

    async def join(self, connection: Connection, message: Join) -> dict[str, Any]:
        if connection.player_id is not None:
            raise Conflict("Already joined; use change_room to move")
        if self.on_close not in connection.on_close:
            connection.on_close.append(self.on_close)
        signed_in = message.token is not None or "session" in connection.attributes
        if not signed_in and not self.runtime.settings.require_wallet_auth:
            return await self.join_as_guest(connection, message)
        return await self.join_as_player(connection, message)

    async def join_as_player(self, connection: Connection, message: Join) -> dict[str, Any]:
        session = await _session_for(self.runtime, connection, message.token)
        user = await User.find_one(User.wallet_address == session.wallet)
        if user is None:
            raise NotAuthenticated("No player for this token; sign in again")
        catalogue = self.hub.catalogue
        known_last = catalogue.get(user.last_room or "")
        spec = self.hub.spec(message.room or (known_last.id if known_last else catalogue.default))
        player_id = _player_id()
        x, y = _start_position(user, spec)
        member = Member(
            connection, player_id, user.wallet_address, user.username,
            dict(user.customization), x, y,
        )  # fmt: skip
        connection.wallet, connection.session_id = session.wallet, session.session_id
        connection.role, connection.username = session.role, user.username
        # The newest session wins: older ones leave their rooms before this one is seated.
        await self.runtime.sessions.claim(connection)
        players = self.hub.join(member, spec)
        connection.player_id = player_id
        connection.attributes["last_room"] = spec.id
        _arm_expiry(self.runtime, connection, session)
        await self.runtime.presence.connected(user.wallet_address, player_id, spec.id)
        self.runtime.events.record("join", user.wallet_address, room=spec.id)
        self.runtime.stats.queue(user.wallet_address, "world.roomsVisited")
        connection.attributes["joined_at"] = time.monotonic()
        if self.runtime.settings.daily_bonus_coins:
            # The daily bonus arrives as a `coins` push just after `joined`.
            bonus = self.runtime.economy.daily_bonus(user.wallet_address)
            self.runtime.spawn(bonus, "daily-bonus")
        logger.info("joined", extra={"conn": connection.id, "wallet": short(user.wallet_address)})
        return {
            "type": "joined",
            "playerId": player_id,
            "room": spec.id,
            "user": user.public_profile(),
            "players": players,
        }

    async def join_as_guest(self, connection: Connection, message: Join) -> dict[str, Any]:
        spec = self.hub.spec(message.room or self.hub.catalogue.default)
        username = f"Guest{secrets.randbelow(10_000):04d}"
        member = Member(
            connection, _player_id(), None, username, dict(GUEST_CUSTOMIZATION), *spec.spawn
        )
        players = self.hub.join(member, spec)
        connection.guest, connection.username = True, username
        connection.player_id = member.player_id
        return {
            "type": "joined",
            "playerId": member.player_id,
            "room": spec.id,
            "user": _guest_profile(username),
            "players": players,
        }

    async def change_room(self, connection: Connection, message: ChangeRoom) -> dict[str, Any]:
        member = self.hub.member(connection)
        if member is None:
            raise NotInRoom()
        spec = self.hub.spec(message.room)
        if spec.id == connection.room:
            raise Conflict("Already in that room")
        old_position = member.x, member.y
        member.x, member.y = spec.spawn
        try:
            players = self.hub.join(member, spec)
        except RoomFull:
            member.x, member.y = old_position
            raise
        previous = connection.attributes.get("last_room")
        connection.attributes["last_room"] = spec.id
        if connection.wallet:
            self.runtime.events.record(
                "room_change", connection.wallet, fromRoom=previous, toRoom=spec.id
            )
            self.runtime.stats.queue(connection.wallet, "world.roomsVisited")
        profile: dict[str, Any] | None = _guest_profile(member.username)
        if connection.wallet:
            await self.runtime.presence.connected(connection.wallet, member.player_id, spec.id)
            user = await User.find_one(User.wallet_address == connection.wallet)
            profile = user.public_profile() if user else None
        return {
            "type": "joined",
            "playerId": member.player_id,
            "room": spec.id,
            "user": profile,
            "players": players,
        }


def _guest_profile(username: str) -> dict[str, Any]:
    return {"walletAddress": None, "username": username, "guest": True}


def register(router: Router, runtime: Runtime) -> None:
    handlers = WorldHandlers(runtime)
    router.add("join", Join, handlers.join, public=True)
    router.add("change_room", ChangeRoom, handlers.change_room)
