"""The HTTP twin of sign-in (`POST /auth/challenge`, `POST /auth/verify`) and of logout
(`POST /auth/logout`) for tools and consoles, and bearer-token checks for HTTP routes that
need a role."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse

from clubpengu.errors import BadJson, Forbidden, FrameTooLarge, InvalidMessage, NotAuthenticated
from clubpengu.services.auth import AuthFailureCode, AuthService, BanRefusal, SessionInfo, iso
from clubpengu.transport.client_ip import Network, client_ip
from clubpengu.transport.handlers.auth import banned, success
from clubpengu.transport.http import node_of

MAX_BODY = 4096
_FAILURE_STATUS = {
    AuthFailureCode.RATE_LIMITED: 429,
    AuthFailureCode.INVALID_WALLET: 400,
    AuthFailureCode.BANNED: 403,
    AuthFailureCode.ERASURE_IN_PROGRESS: 409,
}


def request_ip(request: Request, trusted_proxies: Sequence[Network]) -> str:
    peer = request.client.host if request.client else None
    forwarded = request.headers.get("x-forwarded-for")
    return client_ip(peer, forwarded, trusted_proxies)


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object ({} when empty). Raises FrameTooLarge, BadJson."""
    body = await request.body()
    if len(body) > MAX_BODY:
        raise FrameTooLarge(f"Bodies are limited to {MAX_BODY} bytes")
    if not body:
        return {}
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise BadJson("The body is not valid JSON") from None
    if not isinstance(data, dict):
        raise BadJson("The body must be a JSON object")
    return data


def _failure(code: AuthFailureCode) -> JSONResponse:
    return JSONResponse(
        {"type": "auth_failure", "error": str(code)}, status_code=_FAILURE_STATUS.get(code, 401)
    )


def _text_field(data: dict[str, Any], name: str) -> str:
    """A required text field of the body; missing or not text is `invalid_message` (400),
    as over the WebSocket: the auth failure codes are for text that is not a wallet or a
    signature."""
    value = data.get(name)
    if not isinstance(value, str):
        raise InvalidMessage(f"{name}: a string is required")
    return value


async def post_challenge(request: Request) -> JSONResponse:
    node = node_of(request)
    auth = node.services.auth
    data = await json_body(request)
    wallet = data.get("walletAddress")
    if wallet is not None and not isinstance(wallet, str):
        raise InvalidMessage("walletAddress: a string is required")
    ip = request_ip(request, node.settings.trusted_proxies)
    if not await node.services.sign_in_limits.allow(None, ip):
        return _failure(AuthFailureCode.RATE_LIMITED)
    result = await auth.http_challenge(wallet)
    if isinstance(result, AuthFailureCode):
        return _failure(result)
    challenge_id, challenge = result
    return JSONResponse(
        {
            "challengeId": challenge_id,
            "nonce": challenge.text,
            "expiresAt": iso(challenge.expires_at),
        }
    )


async def post_verify(request: Request) -> JSONResponse:
    node = node_of(request)
    auth = node.services.auth
    data = await json_body(request)
    ip = request_ip(request, node.settings.trusted_proxies)
    if not await node.services.sign_in_limits.allow(None, ip):
        node.metrics.sign_in(AuthFailureCode.RATE_LIMITED)
        return _failure(AuthFailureCode.RATE_LIMITED)
    wallet, signature = _text_field(data, "walletAddress"), _text_field(data, "signature")
    challenge = await auth.take_http_challenge(data.get("challengeId"))
    result = await auth.sign_in(challenge, wallet, signature, ip)
    if isinstance(result, AuthFailureCode):
        return _failure(result)
    if isinstance(result, BanRefusal):
        return JSONResponse(banned(result), status_code=_FAILURE_STATUS[result.code])
    return JSONResponse(success(result))


async def post_logout(request: Request) -> JSONResponse:
    """Revoke the session the bearer token stands for, as the WebSocket `logout` does: its
    tokens stop working and its connections, on any node, close with 4003. Idempotent: a
    correctly signed, unexpired token of a session already ended answers 200 again
    (`"revoked": false`), so a retried sign-out never looks like a failure."""
    node = node_of(request)
    claims = node.services.auth.decode(_bearer(request))
    session_id = str(claims["sid"])
    revoked = await node.services.auth.revoke(session_id, "logout")
    if revoked:
        await node.realtime.sessions.revoke(session_id)
    return JSONResponse({"type": "logged_out", "revoked": revoked})


def _bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated("Send Authorization: Bearer <token>")
    return token.strip()


async def bearer_session(
    request: Request, auth: AuthService, roles: Collection[str] | None = None
) -> SessionInfo:
    """The session of the request's `Authorization: Bearer <JWT>`. Raises NotAuthenticated
    without a valid token and Forbidden when `roles` is given and the session has none
    of them."""
    session = await auth.authenticate(_bearer(request))
    if roles is not None and session.role not in roles:
        raise Forbidden("This needs the " + " or ".join(sorted(roles)) + " role")
    return session
