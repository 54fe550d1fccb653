"""The HTTP twin of sign-in (`POST /auth/challenge`, `POST /auth/verify`) for tools and
consoles, and bearer-token checks for HTTP routes that need a role."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse

from clubpengu.errors import NotAuthenticated
from clubpengu.runtime import Runtime
from clubpengu.services.auth import AuthFailureCode, SessionInfo, iso
from clubpengu.transport.client_ip import client_ip
from clubpengu.transport.handlers.auth import allow_attempt, success

MAX_BODY = 4096
_FAILURE_STATUS = {AuthFailureCode.RATE_LIMITED: 429, AuthFailureCode.INVALID_WALLET: 400}


class HttpError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def response(self) -> JSONResponse:
        body = {"type": "error", "code": self.code, "message": self.message}
        headers = {"WWW-Authenticate": "Bearer"} if self.status == 401 else None
        return JSONResponse(body, status_code=self.status, headers=headers)


def request_ip(request: Request, runtime: Runtime) -> str:
    peer = request.client.host if request.client else None
    forwarded = request.headers.get("x-forwarded-for")
    return client_ip(peer, forwarded, runtime.settings.trusted_proxies)


async def json_body(request: Request) -> dict[str, Any]:
    body = await request.body()
    if len(body) > MAX_BODY:
        raise HttpError(413, "frame_too_large", f"Bodies are limited to {MAX_BODY} bytes")
    if not body:
        return {}
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise HttpError(400, "bad_json", "The body is not valid JSON") from None
    if not isinstance(data, dict):
        raise HttpError(400, "bad_json", "The body must be a JSON object")
    return data


def _failure(code: AuthFailureCode) -> JSONResponse:
    return JSONResponse(
        {"type": "auth_failure", "error": str(code)}, status_code=_FAILURE_STATUS.get(code, 401)
    )


async def post_challenge(request: Request) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    try:
        data = await json_body(request)
    except HttpError as error:
        return error.response()
    if not allow_attempt(runtime, None, request_ip(request, runtime)):
        return _failure(AuthFailureCode.RATE_LIMITED)
    result = await runtime.auth.http_challenge(data.get("walletAddress"))
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
    runtime: Runtime = request.app.state.runtime
    try:
        data = await json_body(request)
    except HttpError as error:
        return error.response()
    ip = request_ip(request, runtime)
    if not allow_attempt(runtime, None, ip):
        runtime.metrics.sign_in(AuthFailureCode.RATE_LIMITED)
        return _failure(AuthFailureCode.RATE_LIMITED)
    challenge = await runtime.auth.take_http_challenge(data.get("challengeId"))
    result = await runtime.auth.sign_in(
        challenge, data.get("walletAddress"), data.get("signature"), ip
    )
    if isinstance(result, AuthFailureCode):
        return _failure(result)
    return JSONResponse(success(result))


async def bearer_session(request: Request, roles: Collection[str] | None = None) -> SessionInfo:
    """The session of the request's `Authorization: Bearer <JWT>`. Raises HttpError 401
    without a valid token and 403 when `roles` is given and the session has none of them."""
    runtime: Runtime = request.app.state.runtime
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HttpError(401, "not_authenticated", "Send Authorization: Bearer <token>")
    try:
        session = await runtime.auth.authenticate(token.strip())
    except NotAuthenticated as error:
        raise HttpError(401, "not_authenticated", str(error)) from None
    if roles is not None and session.role not in roles:
        raise HttpError(403, "forbidden", "This needs the " + " or ".join(sorted(roles)) + " role")
    return session
