"""`auth_request`, `auth_verify`, `logout` (docs/protocol.md §1)."""

from __future__ import annotations

from typing import Any

from clubpengu.errors import CloseCode, Conflict
from clubpengu.metrics import Metrics
from clubpengu.realtime.connection import Connection
from clubpengu.realtime.sessions import SessionRegistry
from clubpengu.services.auth import (
    AuthFailureCode,
    AuthService,
    BanRefusal,
    Challenge,
    SignedIn,
    iso,
)
from clubpengu.services.connection_log import DEVICE_ID, LOG_ID, ConnectionLogService
from clubpengu.services.ratelimit import SignInLimits
from clubpengu.services.sanctions import connection_mute, mute_in_force
from clubpengu.services.world import SESSION, SIGNED_IN, SignedInUser
from clubpengu.transport.messages import AuthRequest, AuthVerify, Logout
from clubpengu.transport.router import Router

CHALLENGE = "challenge"


def failure(code: AuthFailureCode) -> dict[str, Any]:
    return {"type": "auth_failure", "error": str(code)}


def banned(refusal: BanRefusal) -> dict[str, Any]:
    """`auth_failure` `banned`, with until when (ISO-8601; null: until lifted)."""
    until = iso(refusal.until) if refusal.until is not None else None
    return {"type": "auth_failure", "error": str(refusal.code), "until": until}


def success(signed_in: SignedIn) -> dict[str, Any]:
    frame = {
        "type": "auth_success",
        "token": signed_in.token,
        "user": signed_in.user.public_profile(),
        "isNewUser": signed_in.is_new_user,
    }
    due = signed_in.user.erasure_due_at
    if due is not None:  # the player asked for erasure: say when, so they may cancel
        frame["erasureDueAt"] = iso(due)
    return frame


class AuthHandlers:
    def __init__(
        self,
        auth: AuthService,
        sessions: SessionRegistry,
        limits: SignInLimits,
        metrics: Metrics,
        connection_log: ConnectionLogService,
    ) -> None:
        self.auth = auth
        self.sessions = sessions
        self.limits = limits
        self.metrics = metrics
        self.connection_log = connection_log

    async def auth_request(self, connection: Connection, message: AuthRequest) -> dict[str, Any]:
        if not await self.limits.allow(connection.id, connection.ip):
            return failure(AuthFailureCode.RATE_LIMITED)
        challenge = self.auth.challenge(message.wallet_address)
        if isinstance(challenge, AuthFailureCode):
            return failure(challenge)
        connection.attributes[CHALLENGE] = challenge
        if message.client_device_id is not None:
            connection.attributes[DEVICE_ID] = message.client_device_id
        return {
            "type": "auth_challenge",
            "nonce": challenge.text,
            "expiresAt": iso(challenge.expires_at),
        }

    async def auth_verify(self, connection: Connection, message: AuthVerify) -> dict[str, Any]:
        if connection.player_id is not None:
            raise Conflict("Already in the world on this connection")
        if not await self.limits.allow(connection.id, connection.ip):
            self.metrics.sign_in(AuthFailureCode.RATE_LIMITED)
            return failure(AuthFailureCode.RATE_LIMITED)
        challenge: Challenge | None = connection.attributes.pop(CHALLENGE, None)
        result = await self.auth.sign_in(
            challenge, message.wallet_address, message.signature, connection.ip
        )
        if isinstance(result, AuthFailureCode):
            return failure(result)
        if isinstance(result, BanRefusal):
            return banned(result)
        connection.wallet = result.session.wallet
        connection.session_id = result.session.session_id
        connection.role = result.session.role
        connection.attributes[SESSION] = result.session
        log_id = connection.attributes.get(LOG_ID)
        if log_id is not None:
            self.connection_log.signed_in(
                log_id, result.session.wallet, connection.attributes.get(DEVICE_ID)
            )
        # The join that follows takes the user from here (services/world.py SignedInUser),
        # and with it the mute, which the wallet's mute events keep current from now on.
        connection.attributes[SIGNED_IN] = SignedInUser(
            result.user, result.is_new_user, connection.requests
        )
        connection.mute = connection_mute(mute_in_force(result.user.moderation, self.auth.clock()))
        return success(result)

    async def logout(self, connection: Connection, message: Logout) -> dict[str, Any]:
        if connection.session_id is not None:
            await self.auth.revoke(connection.session_id, "logout")
            # Other connections of this session (other tabs, other nodes) end with 4003.
            await self.sessions.revoke(connection.session_id, keep=connection.id)
        connection.close_after_reply = (CloseCode.CLOSE_1000_NORMAL, "logged out")
        return {"type": "logged_out"}


def register(
    router: Router,
    auth: AuthService,
    sessions: SessionRegistry,
    limits: SignInLimits,
    metrics: Metrics,
    connection_log: ConnectionLogService,
) -> None:
    handlers = AuthHandlers(auth, sessions, limits, metrics, connection_log)
    router.add("auth_request", AuthRequest, handlers.auth_request, public=True, abandonable=True)
    router.add("auth_verify", AuthVerify, handlers.auth_verify, public=True, abandonable=True)
    router.add("logout", Logout, handlers.logout)
