"""A minimal RFC 6455 client for load generation: one asyncio Protocol per socket, frames
parsed in `data_received` and handed to a callback with no task wake-up per frame.

The `websockets` library is the reference client (the tests use it); this one exists so
that 1,000 simulated players cost the 2-core machine far less CPU than the server being
measured. It speaks only what the benchmark needs: text frames (masked, as a client
must), answering pings, and the closing handshake. No extensions, no fragmentation.
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
from collections.abc import Callable

from websockets.speedups import apply_mask  # the C masking routine of `websockets`

OP_TEXT, OP_CLOSE, OP_PING, OP_PONG = 0x1, 0x8, 0x9, 0xA


def _frame(opcode: int, payload: bytes) -> bytes:
    """A masked client frame."""
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
    elif length < 1 << 16:
        header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length)
    mask = os.urandom(4)
    return header + mask + apply_mask(payload, mask)


class BenchSocket(asyncio.Protocol):
    """Calls `on_text(payload)` for every text frame, in `data_received`."""

    def __init__(self, on_text: Callable[[bytes], None]) -> None:
        self.on_text = on_text
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.handshaken = asyncio.get_running_loop().create_future()
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        for future in (self.handshaken, self.closed):
            if not future.done():
                future.set_result(None)

    def send_text(self, payload: bytes) -> None:
        assert self.transport is not None
        self.transport.write(_frame(OP_TEXT, payload))

    def close(self, code: int = 1000) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(_frame(OP_CLOSE, struct.pack("!H", code)))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.handshaken.done():
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(self.buffer[: self.buffer.find(b"\r\n")])
            del self.buffer[: end + 4]
            if b" 101 " not in status:
                raise ConnectionError(f"handshake refused: {status!r}")
            self.handshaken.set_result(None)
        self._frames()

    def _frames(self) -> None:
        buffer, at, size = self.buffer, 0, len(self.buffer)
        while size - at >= 2:
            opcode, length = buffer[at] & 0x0F, buffer[at + 1] & 0x7F
            start = at + 2
            if length == 126:
                if size - at < 4:
                    break
                length, start = struct.unpack_from("!H", buffer, at + 2)[0], at + 4
            elif length == 127:
                if size - at < 10:
                    break
                length, start = struct.unpack_from("!Q", buffer, at + 2)[0], at + 10
            if size < start + length:
                break
            at = start + length
            self._handle(opcode, bytes(buffer[start:at]))
        del buffer[:at]

    def _handle(self, opcode: int, payload: bytes) -> None:
        if opcode == OP_TEXT:
            self.on_text(payload)
        elif self.transport is None:
            return
        elif opcode == OP_PING:
            self.transport.write(_frame(OP_PONG, payload))
        elif opcode == OP_CLOSE:
            self.transport.write(_frame(OP_CLOSE, payload[:2]))
            self.transport.close()


async def connect(
    host: str,
    port: int,
    on_text: Callable[[bytes], None],
    protocol_class: type[BenchSocket] = BenchSocket,
) -> BenchSocket:
    loop = asyncio.get_running_loop()
    _, protocol = await loop.create_connection(lambda: protocol_class(on_text), host, port)
    key = base64.b64encode(os.urandom(16)).decode()
    assert protocol.transport is not None
    protocol.transport.write(
        (
            f"GET /ws HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    await protocol.handshaken
    return protocol
