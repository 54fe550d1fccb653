"""Lets the app drop a WebSocket whose peer has stopped reading.

ASGI gives an app no way to abort a socket, and a close frame cannot be written into a
socket whose buffers are full (uvicorn's `send` waits for the buffer to drain first). So a
client that stops reading could hold its socket open until the keepalive gives up, and
even then uvicorn would wait for it to read the close frame. Under uvicorn, the `send`
the server hands the app is a method of its protocol object, which holds the asyncio
transport: this middleware puts that transport's `abort` in the scope as
`clubpengu.abort`. Under any other server the key is absent and the ping timeout
(WS_IDLE_TIMEOUT) is what eventually reaps such a socket.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

ABORT_KEY = "clubpengu.abort"


def _find_abort(send: Send) -> Callable[[], None] | None:
    protocol = getattr(send, "__self__", None)
    transport: Any = getattr(protocol, "transport", None)
    abort = getattr(transport, "abort", None)
    return abort if callable(abort) else None


class ExposeSocketAbort:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            abort = _find_abort(send)
            if abort is not None:
                scope[ABORT_KEY] = abort
        await self.app(scope, receive, send)
