"""Direct access to the server's side of a WebSocket, for the two things the app cannot
do well through Starlette's `WebSocket`.

1. Abort. ASGI gives an app no way to drop a socket, and a close frame cannot be written
   into a socket whose buffers are full (uvicorn's `send` waits for the buffer to drain
   first). So a client that stops reading could hold its socket open until the keepalive
   gives up, and even then uvicorn would wait for it to read the close frame. Under
   uvicorn the `send` the server hands the app is a method of its protocol object, which
   holds the asyncio transport: its `abort` goes in the scope as `clubpengu.abort`.
2. Sending and receiving. The tick sends one frame per player per tick (10,000 a second
   for 1,000 players) and as many moves come in; Starlette's `WebSocket.send`/`receive`
   and its exception middleware's wrapper add calls and state checks to each. The
   server's own `send` and `receive` go in the scope as `clubpengu.send` and
   `clubpengu.receive`; the connection uses them once Starlette has accepted it.

3. Whether the peer is gone. A client that closes while its frames wait to be read (a
   sign-in and a join sent, then given up on) leaves them queued before the close; the
   app reads them first. The protocol has seen the close (or lost the connection) by
   then: `peer_gone()` says so, under `clubpengu.peer_gone`, so the router can drop
   requests whose only point is the reply (transport/router.py).

4. Shared frames. A `moves` batch or a chat line goes to every member of a room as the
   same text; a server's WebSocket frames are not masked, so the framed bytes are the
   same for every member too. When a connection is plain (no extension negotiated, so
   no per-connection compression state), open, not mid-message and writable, the frame
   built once for the room is written straight to its transport, skipping the per-frame
   work of uvicorn's `send` and of `websockets`' framing; otherwise, and for any frame
   not shared, the ASGI `send` is used. `frame_writer` checks for the attributes it
   relies on and returns None when they are not there (another server, another version),
   and tests/realtime/test_socket_access.py fails if the pinned uvicorn loses them.

Under any other server the keys may be absent: frames then go through Starlette, and the
ping timeout (WS_IDLE_TIMEOUT) is what eventually reaps a socket that stopped reading.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

ABORT_KEY = "clubpengu.abort"
SEND_KEY = "clubpengu.send"
RECEIVE_KEY = "clubpengu.receive"
FRAME_KEY = "clubpengu.write_frame"
GONE_KEY = "clubpengu.peer_gone"
_PROTOCOL_ATTRIBUTES = ("transport", "conn", "writable", "close_sent", "disconnected")
_CONN_ATTRIBUTES = ("state", "extensions", "expect_continuation_frame")


def _find_abort(send: Send) -> Callable[[], None] | None:
    protocol = getattr(send, "__self__", None)
    transport: Any = getattr(protocol, "transport", None)
    abort = getattr(transport, "abort", None)
    return abort if callable(abort) else None


def frame_writer(send: Send) -> Callable[[bytes], bool] | None:
    """`write(frame) -> bool`: write a pre-built frame if the connection allows it now."""
    protocol: Any = getattr(send, "__self__", None)
    conn: Any = getattr(protocol, "conn", None)
    if not all(hasattr(protocol, name) for name in _PROTOCOL_ATTRIBUTES) or not all(
        hasattr(conn, name) for name in _CONN_ATTRIBUTES
    ):
        return None
    from websockets.protocol import State

    open_state = State.OPEN

    def write(frame: bytes) -> bool:
        transport = protocol.transport
        if (
            protocol.close_sent
            or protocol.disconnected
            or not protocol.writable.is_set()
            or conn.state is not open_state
            or conn.extensions
            or conn.expect_continuation_frame
            or transport.is_closing()
        ):
            return False
        try:
            transport.write(frame)
        except Exception:  # let the ASGI path meet (and report) whatever is wrong
            return False
        return True

    return write


def peer_gone(send: Send) -> Callable[[], bool] | None:
    """`gone() -> bool`: the peer has closed the socket (its close frame read, so the
    server closed its transport) or the connection is lost."""
    protocol: Any = getattr(send, "__self__", None)
    if not hasattr(protocol, "disconnected") or not hasattr(protocol, "transport"):
        return None

    def gone() -> bool:
        transport = protocol.transport
        return bool(protocol.disconnected) or transport is None or transport.is_closing()

    return gone


class ExposeSocket:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            scope[SEND_KEY] = send
            scope[RECEIVE_KEY] = receive
            abort = _find_abort(send)
            if abort is not None:
                scope[ABORT_KEY] = abort
            write = frame_writer(send)
            if write is not None:
                scope[FRAME_KEY] = write
            gone = peer_gone(send)
            if gone is not None:
                scope[GONE_KEY] = gone
        await self.app(scope, receive, send)
