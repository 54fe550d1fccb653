"""`auth_request`, `auth_verify`, `logout` (PROTOCOL.md §1)."""

from __future__ import annotations

from typing import Any

from clubpengu.errors import CloseCode, Conflict
from clubpengu.realtime.connection import Connection
from clubpengu.runtime import Runtime
from clubpengu.services.auth import AuthFailureCode, Challenge, SignedIn, iso
from clubpengu.transport.messages import AuthRequest, AuthVerify, Logout
from clubpengu.transport.router import Router

CHALLENGE = "challenge"


def failure(code: AuthFailureCode) -> dict[str, Any]:
    return {"type": "auth_failure", "error": str(code)}


def success(signed_in: SignedIn) -> dict[str, Any]:
    return {
        "type": "auth_success",
        "token": signed_in.token,
        "user": signed_in.user.public_profile(),
        "isNewUser": signed_in.is_new_user,
    }


def allow_attempt(runtime: Runtime, connection_key: str | None, ip: str) -> bool:
    """Sign-in attempts are limited per connection and per client IP."""
    if connection_key is not None and not runtime.auth_conn_limiter.allow(connection_key):
        return False
    return runtime.auth_ip_limiter.allow(ip)


def register(router: Router, runtime: Runtime) -> None:
    auth = runtime.auth

    async def auth_request(connection: Connection, message: AuthRequest) -> dict[str, Any]:
        if not allow_attempt(runtime, connection.id, connection.ip):
            return failure(AuthFailureCode.RATE_LIMITED)
        challenge = auth.challenge(message.wallet_address)
        if isinstance(challenge, AuthFailureCode):
            return failure(challenge)
        connection.attributes[CHALLENGE] = challenge
        return {
            "type": "auth_challenge",
            "nonce": challenge.text,
            "expiresAt": iso(challenge.expires_at),
        }

    async def auth_verify(connection: Connection, message: AuthVerify) -> dict[str, Any]:
        if connection.player_id is not None:
            raise Conflict("Already in the world on this connection")
        if not allow_attempt(runtime, connection.id, connection.ip):
            runtime.metrics.sign_in(AuthFailureCode.RATE_LIMITED)
            return failure(AuthFailureCode.RATE_LIMITED)
        challenge: Challenge | None = connection.attributes.pop(CHALLENGE, None)
        result = await auth.sign_in(
            challenge, message.wallet_address, message.signature, connection.ip
        )
        if isinstance(result, AuthFailureCode):
            return failure(result)
        connection.wallet = result.session.wallet
        connection.session_id = result.session.session_id
        connection.role = result.session.role
        connection.attributes["session"] = result.session
        return success(result)

    async def logout(connection: Connection, message: Logout) -> dict[str, Any]:
        if connection.session_id is not None:
            await auth.revoke(connection.session_id, "logout")
            # Other connections of this session (other tabs, other nodes) end with 4003.
            await runtime.sessions.revoke(connection.session_id, keep=connection.id)
        connection.close_after_reply = (CloseCode.CLOSE_1000_NORMAL, "logged out")
        return {"type": "logged_out"}

    router.add("auth_request", AuthRequest, auth_request, public=True)
    router.add("auth_verify", AuthVerify, auth_verify, public=True)
    router.add("logout", Logout, logout)
