"""The HTTP edge, before any route: which browser origins may call the server or open a
socket, and request bodies capped in size and time while they stream.

- **Origins.** A request (HTTP or a WebSocket upgrade) that carries an `Origin` header is
  refused unless the origin is the server's own — the scheme and `Host` the request came
  to, the scheme from `X-Forwarded-Proto` when a trusted proxy sent it — or is listed in
  ALLOWED_ORIGINS (`*`: any). HTTP gets 403 `forbidden`; a socket is refused with 403
  before the upgrade, so a hostile page cannot open sockets from its visitors' browsers.
  Clients that send no `Origin` (game clients outside a browser, tools) are not affected.
- **Bodies.** A `Content-Length` over MAX_BODY_BYTES is answered 413 at once, without
  reading a byte of the body; a body without one (chunked) is counted as it arrives and
  refused the moment it passes the cap. The body must have arrived within
  HTTP_BODY_TIMEOUT of the request's headers, or the answer is 408. Either answer closes
  the connection, so the rest of a large upload is never read (uvicorn stops reading a
  request whose unread body passes 64 KiB until the app asks for more). A client that
  leaves mid-body is logged at debug level, not as a server error with a traceback.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import orjson
from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from clubpengu.config_parsers import normal_origin
from clubpengu.errors import ErrorCode
from clubpengu.transport.client_ip import Network, is_trusted

logger = logging.getLogger(__name__)
_WS_SCHEMES = {"ws": "http", "wss": "https"}


class _BodyRefused(Exception):
    def __init__(self, status: int, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def own_origin(scope: Scope, headers: Headers, trusted: Sequence[Network]) -> str | None:
    """The origin a browser shows for a page of this server: the scheme of the request
    (or the one a trusted proxy forwarded) and its `Host`."""
    scheme = _WS_SCHEMES.get(scope.get("scheme", "http"), scope.get("scheme", "http"))
    forwarded = headers.get("x-forwarded-proto")
    peer = scope["client"][0] if scope.get("client") else None
    if forwarded and peer is not None and is_trusted(peer, trusted):
        scheme = forwarded.split(",")[0].strip().lower()
    host = headers.get("host")
    return normal_origin(f"{scheme}://{host}") if host else None


class EdgeGuard:
    """The ASGI middleware of the module docstring."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        allowed_origins: Sequence[str] = (),
        trusted_proxies: Sequence[Network] = (),
        max_body_bytes: int = 16 * 1024,
        body_timeout: float = 30.0,
    ) -> None:
        self.app = app
        self.any_origin = "*" in allowed_origins
        self.allowed = frozenset(allowed_origins)
        self.trusted = tuple(trusted_proxies)
        self.max_body = max_body_bytes
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if not self._origin_allowed(scope, headers):
            await _refuse_origin(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        declared = headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body):
            await _answer(send, 413, ErrorCode.FRAME_TOO_LARGE, self._too_large)
            return
        await self._guarded(scope, receive, send)

    @property
    def _too_large(self) -> str:
        return f"Bodies are limited to {self.max_body} bytes"

    def _origin_allowed(self, scope: Scope, headers: Headers) -> bool:
        origin = headers.get("origin")
        if origin is None or self.any_origin:
            return True
        normal = normal_origin(origin)
        if normal is None:  # `null` (sandboxed frames, files) and anything malformed
            return False
        return normal in self.allowed or normal == own_origin(scope, headers, self.trusted)

    async def _guarded(self, scope: Scope, receive: Receive, send: Send) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.body_timeout
        received = 0
        complete = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, complete
            if complete:  # after the body: only the disconnect is left to wait for
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise _BodyRefused(
                    408, ErrorCode.REQUEST_TIMEOUT, "The body took too long"
                ) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise _BodyRefused(413, ErrorCode.FRAME_TOO_LARGE, self._too_large)
                complete = not message.get("more_body", False)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except ClientDisconnect:
            # The client went away mid-body: nothing to answer, and not a server error.
            logger.debug("client left before its body arrived")
        except _BodyRefused as refused:
            if started:  # too late for an answer: the connection just ends
                return
            logger.info("request body refused", extra={"status": refused.status})
            await _answer(send, refused.status, refused.code, refused.message)


async def _answer(send: Send, status: int, code: ErrorCode, message: str) -> None:
    """An error answer that also closes the connection: the unread rest of the request
    is never read."""
    body = orjson.dumps({"type": "error", "code": code, "message": message})
    headers: list[tuple[bytes, bytes]] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _refuse_origin(scope: Scope, receive: Receive, send: Send) -> None:
    message = "This origin may not use this server"
    if scope["type"] == "http":
        await _answer(send, 403, ErrorCode.FORBIDDEN, message)
        return
    await refuse_upgrade(scope, send, 403, ErrorCode.FORBIDDEN, message)


async def refuse_upgrade(
    scope: Scope, send: Send, status: int, code: ErrorCode, message: str
) -> None:
    """Refuse a WebSocket before the upgrade: an HTTP answer with `status` where the server
    offers the denial-response extension (uvicorn does), else a close (which uvicorn
    answers with 403)."""
    extensions: dict[str, Any] = scope.get("extensions") or {}
    if "websocket.http.response" not in extensions:
        await send({"type": "websocket.close", "code": 1008})
        return
    body = orjson.dumps({"type": "error", "code": code, "message": message})
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "websocket.http.response.start", "status": status, "headers": headers})
    await send({"type": "websocket.http.response.body", "body": body})
