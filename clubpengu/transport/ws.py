"""`/ws`: one task per socket reads frames and hands them to the router; replies and pushes
go through the connection's own writer (realtime/connection.py)."""

from __future__ import annotations

import logging

from starlette.websockets import WebSocket, WebSocketDisconnect

from clubpengu.errors import ErrorCode
from clubpengu.realtime.connection import Connection, dumps
from clubpengu.runtime import Runtime
from clubpengu.transport.client_ip import client_ip
from clubpengu.transport.router import error_frame

logger = logging.getLogger(__name__)


class _StarletteTransport:
    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket

    async def send_text(self, text: str) -> None:
        await self.websocket.send_text(text)

    async def close(self, code: int, reason: str = "") -> None:
        await self.websocket.close(code, reason)


async def websocket_endpoint(websocket: WebSocket) -> None:
    runtime: Runtime = websocket.app.state.runtime
    settings = runtime.settings
    if runtime.shutting_down:
        await websocket.close(1001)
        return
    await websocket.accept()
    peer = websocket.client.host if websocket.client else None
    connection = Connection(
        transport=_StarletteTransport(websocket),
        ip=client_ip(peer, websocket.headers.get("x-forwarded-for"), settings.trusted_proxies),
        node_id=settings.node_id,
    )
    connection.start()
    runtime.connections.add(connection)
    logger.info("connection open", extra={"conn": connection.id})
    try:
        await _read_loop(runtime, websocket, connection)
    finally:
        runtime.connections.remove(connection)
        await connection.finish()
        logger.info(
            "connection closed", extra={"conn": connection.id, "code": connection.close_code}
        )


async def _read_loop(runtime: Runtime, websocket: WebSocket, connection: Connection) -> None:
    router = runtime.router
    while not connection.closed:
        try:
            message = await websocket.receive()
        except (WebSocketDisconnect, RuntimeError):
            return
        if message["type"] == "websocket.disconnect":
            connection.close_code = connection.close_code or message.get("code")
            return
        text = message.get("text")
        if text is None:
            connection.send(
                error_frame(
                    ErrorCode.INVALID_MESSAGE, "Binary frames are not accepted; send JSON text"
                )
            )
            continue
        reply = await router.dispatch(connection, text)
        if reply is not None:
            connection.send_text(dumps(reply))
        while connection.after_reply:
            connection.after_reply.pop(0)()
        if connection.close_after_reply is not None:
            await connection.close(*connection.close_after_reply)
