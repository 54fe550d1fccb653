"""The database out of reach, at the edge: a driver error that means the database could not
be reached or did not answer in time becomes the protocol's `unavailable` ("try again";
HTTP 503), not `internal`. It is an outage, not a bug: logged as a warning without a
traceback. A request refused this way was not acknowledged; a retry with the same
idempotency key applies it at most once."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.websockets import WebSocket

from clubpengu.errors import ErrorCode, Unavailable
from clubpengu.services.outage import OUTAGE_ERRORS, is_outage

logger = logging.getLogger(__name__)
__all__ = ["OUTAGE_ERRORS", "http_unavailable", "is_outage", "log_outage"]
MESSAGE = Unavailable.default_message


def log_outage(error: BaseException, **context: object) -> None:
    logger.warning(
        "database unavailable; answered unavailable",
        extra={"error": type(error).__name__, **context},
    )


async def http_unavailable(conn: Request | WebSocket, error: Exception) -> JSONResponse:
    """Starlette's handler for OUTAGE_ERRORS raised by an HTTP route: 503 `unavailable`.
    The WebSocket router answers its own frames, so anything else is re-raised."""
    if conn.scope["type"] != "http":
        raise error
    log_outage(error, path=conn.url.path)
    body = {"type": "error", "code": str(ErrorCode.UNAVAILABLE), "message": MESSAGE}
    return JSONResponse(body, status_code=503)
