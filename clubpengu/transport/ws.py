"""`/ws`: one task per socket reads frames and hands them to the router; replies and pushes
go through the connection's own writer (realtime/connection.py)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import Receive, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from clubpengu.config import Settings
from clubpengu.errors import CloseCode, ErrorCode
from clubpengu.logs import bind_connection
from clubpengu.metrics import Metrics
from clubpengu.node import Node
from clubpengu.realtime.admission import Admission, Refusal
from clubpengu.realtime.connection import Connection, dumps
from clubpengu.realtime.registry import ConnectionRegistry
from clubpengu.services.auth import AuthService
from clubpengu.services.connection_log import LOG_ID, ConnectionLogService, Opened
from clubpengu.transport.client_ip import client_ip
from clubpengu.transport.edge import refuse_upgrade
from clubpengu.transport.router import Router
from clubpengu.transport.socket_access import (
    ABORT_KEY,
    FRAME_KEY,
    GONE_KEY,
    RECEIVE_KEY,
    SEND_KEY,
)

logger = logging.getLogger(__name__)


class _StarletteTransport:
    """Text frames go straight to the server's `send` when it is known (see
    transport/socket_access.py); accept and close go through Starlette's WebSocket."""

    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket
        self._abort: Callable[[], None] | None = websocket.scope.get(ABORT_KEY)
        self._send: Send | None = websocket.scope.get(SEND_KEY)
        self._write_frame: Callable[[bytes], bool] | None = websocket.scope.get(FRAME_KEY)

    async def send_text(self, text: str) -> None:
        if self._send is not None:
            await self._send({"type": "websocket.send", "text": text})
        else:
            await self.websocket.send_text(text)

    def write_frame(self, frame: bytes) -> bool:
        return self._write_frame is not None and self._write_frame(frame)

    async def close(self, code: int, reason: str = "") -> None:
        await self.websocket.close(code, reason)

    def abort(self) -> None:
        if self._abort is not None:
            self._abort()


@dataclass(frozen=True)
class Sockets:
    """What `/ws` needs: the node's connections, the dispatch table, and the connection
    log (with the auth service's IP hash)."""

    settings: Settings
    router: Router
    connections: ConnectionRegistry
    connection_log: ConnectionLogService
    auth: AuthService
    metrics: Metrics
    admission: Admission

    @classmethod
    def of(cls, node: Node, router: Router) -> Sockets:
        return cls(
            node.settings,
            router,
            node.realtime.connections,
            node.services.connection_log,
            node.services.auth,
            node.metrics,
            node.realtime.admission,
        )


async def websocket_endpoint(websocket: WebSocket) -> None:
    sockets: Sockets = websocket.app.state.sockets
    settings = sockets.settings
    if sockets.connections.closing:
        await websocket.close(1001)
        return
    peer = websocket.client.host if websocket.client else None
    connection = Connection(
        transport=_StarletteTransport(websocket),
        ip=client_ip(peer, websocket.headers.get("x-forwarded-for"), settings.trusted_proxies),
        node_id=settings.node_id,
        max_queue=settings.outgoing_queue_limit,
        metrics=sockets.metrics,
    )
    gone = websocket.scope.get(GONE_KEY)
    if gone is not None:
        connection.peer_gone = gone
    refusal = await sockets.admission.admit(connection.ip, connection.id)
    if refusal is not None:
        await _refuse(websocket, refusal)
        return
    try:
        await websocket.accept()
        await _serve(sockets, websocket, connection)
    except asyncio.CancelledError:
        if not sockets.connections.closing:
            raise
        # uvicorn cancels the socket tasks still running when its wait at shutdown ends
        # (a leave still writing): the socket is closed already and the node's stop
        # writes what the leave queued. Returned from, so uvicorn logs no traceback.
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()
        logger.info("socket task cancelled at shutdown", extra={"conn": connection.id})
    finally:
        sockets.admission.release(connection.ip, connection.id)


async def _refuse(websocket: WebSocket, refusal: Refusal) -> None:
    """Refused before the upgrade: the client gets an HTTP answer and no socket, which
    costs the node no handshake and no per-connection state."""
    status, message = _REFUSALS[refusal]
    logger.warning("socket refused", extra={"refusal": refusal.value})
    await refuse_upgrade(websocket.scope, websocket.send, status, ErrorCode.RATE_LIMITED, message)


_REFUSALS = {
    Refusal.ADDRESS_FULL: (429, "Too many open connections from your address"),
    Refusal.NODE_FULL: (503, "This server is full; try again shortly"),
}


async def _serve(sockets: Sockets, websocket: WebSocket, connection: Connection) -> None:
    bind_connection(connection.id)  # every line this task logs names the connection
    opened = time.monotonic()
    connection.start()
    sockets.connections.add(connection)
    _record_open(sockets, websocket, connection)
    logger.info("connection open", extra={"conn": connection.id})
    deadline = _sign_in_deadline(connection, sockets.settings.sign_in_deadline)
    peer_code: int | None = None
    try:
        peer_code = await _read_loop(sockets.router, websocket, connection)
    finally:
        if deadline is not None:
            deadline.cancel()
        sockets.connections.remove(connection)
        sockets.router.forget(connection)
        await connection.finish(peer_code)
        sockets.connection_log.closed(
            connection.attributes[LOG_ID], connection.close_code, connection.rooms_visited
        )
        logger.info(
            "connection closed",
            extra={
                "conn": connection.id,
                "code": connection.close_code,
                "duration": round(time.monotonic() - opened, 3),
                "dropped": connection.dropped,
            },
        )


def _sign_in_deadline(connection: Connection, seconds: float) -> asyncio.TimerHandle | None:
    """Close with 1008 a socket that has neither signed in nor joined (as a guest) within
    `seconds`: `ping` and `rooms` do not count. None when the deadline is off."""
    if seconds <= 0:
        return None

    def check() -> None:
        if connection.wallet is None and connection.player_id is None:
            logger.info("closing: no sign-in in time", extra={"conn": connection.id})
            connection.close_soon(CloseCode.CLOSE_1008_POLICY_VIOLATION, "sign in first")

    return asyncio.get_running_loop().call_later(seconds, check)


async def _read_loop(router: Router, websocket: WebSocket, connection: Connection) -> int | None:
    """Read until the socket ends; the code the peer closed with (None if unknown)."""
    receive: Receive = websocket.scope.get(RECEIVE_KEY) or websocket.receive
    while not connection.closed:
        try:
            message = await receive()
        except (WebSocketDisconnect, RuntimeError):
            return None
        if message["type"] == "websocket.disconnect":
            code: int | None = message.get("code")
            return code
        text = message.get("text")
        reply = (
            router.refuse_binary(connection)
            if text is None
            else await router.dispatch(connection, text)
        )
        connection.send_reply(None if reply is None else dumps(reply))
        while connection.after_reply:
            connection.after_reply.pop(0)()
        if connection.close_after_reply is not None:
            await connection.close(*connection.close_after_reply)
    return None


def _record_open(sockets: Sockets, websocket: WebSocket, connection: Connection) -> None:
    """Start the connection's history entry without making the open wait for it."""
    connection.attributes[LOG_ID] = sockets.connection_log.opened(
        Opened(
            connection_id=connection.id,
            connected_at=connection.connected_at,
            ip_hash=sockets.auth.hash_ip(connection.ip),
            user_agent=websocket.headers.get("user-agent"),
        )
    )
