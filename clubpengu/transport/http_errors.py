"""The one error path of the HTTP routes: a `DomainError` raised by a route (or by a service
it calls) becomes its protocol code in the body and an HTTP status, in one Starlette
exception handler — as the WebSocket router turns it into an `error` frame.

Body: `{"type":"error","code":"<code>","message":"<text safe to show>"}`; a 401 also
names the scheme it wants (`WWW-Authenticate: Bearer`). A database out of reach is the
other handler's (transport/outage.py): 503 `unavailable`.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.websockets import WebSocket

from clubpengu.errors import DomainError, ErrorCode, InvalidMessage

M = TypeVar("M", bound=BaseModel)
# Every code has a status: a code added to ErrorCode must be given one here.
STATUS: dict[ErrorCode, int] = {
    ErrorCode.BAD_JSON: 400,
    ErrorCode.UNKNOWN_TYPE: 400,
    ErrorCode.INVALID_MESSAGE: 400,
    ErrorCode.NOT_AUTHENTICATED: 401,
    ErrorCode.NOT_IN_ROOM: 400,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.FRAME_TOO_LARGE: 413,
    ErrorCode.INSUFFICIENT_FUNDS: 409,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.CONFLICT: 409,
    ErrorCode.INTERNAL: 500,
    ErrorCode.ROOM_FULL: 400,
    ErrorCode.EXPIRED: 400,
    ErrorCode.UNAVAILABLE: 503,
    ErrorCode.BANNED: 403,
    ErrorCode.ERASURE_IN_PROGRESS: 409,
    ErrorCode.MUTED: 403,
    ErrorCode.MIGRATION_CLOSED: 403,
    ErrorCode.WAGER_LOCKED: 403,
    ErrorCode.WAGER_LIMIT: 409,
    ErrorCode.REQUEST_TIMEOUT: 408,
    ErrorCode.BUDDY_LIMIT: 409,
    ErrorCode.IGNORE_LIMIT: 409,
}


def error_response(error: DomainError) -> JSONResponse:
    status = STATUS[error.code]
    body = {"type": "error", "code": str(error.code), "message": error.message}
    body |= error.wire_fields()
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)


async def http_domain_error(conn: Request | WebSocket, error: Exception) -> JSONResponse:
    """Starlette's handler for DomainError raised by an HTTP route. The WebSocket router
    answers its own frames, so anything else is re-raised."""
    if conn.scope["type"] != "http" or not isinstance(error, DomainError):
        raise error
    return error_response(error)


def parse_body(model: type[M], data: object) -> M:
    """`data` validated as `model`. Raises InvalidMessage naming the first problem's field
    and rule (`body` when it is the body as a whole), never echoing the input."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problem = error.errors(include_input=False, include_url=False)[0]
        where = ".".join(str(p) for p in problem["loc"]) or "body"
        raise InvalidMessage(f"{where}: {problem['msg']}") from None
