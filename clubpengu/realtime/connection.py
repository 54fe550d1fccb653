"""A client connection as the services and the hub see it, independent of the web framework.

Frames are serialised once by the caller and queued as `str`; one writer task per
connection drains the queue, so a slow client never blocks whoever sent to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

logger = logging.getLogger(__name__)
_ids = itertools.count(1)
CLOSE_FLUSH_SECONDS = 1.0  # how long a close waits for queued frames to leave


class Transport(Protocol):
    """What a connection needs from the socket underneath (transport/ws.py supplies it)."""

    async def send_text(self, text: str) -> None: ...

    async def close(self, code: int, reason: str = "") -> None: ...


def dumps(payload: dict[str, Any]) -> str:
    return orjson.dumps(payload).decode()


@dataclass(eq=False)
class Connection:
    """One WebSocket. `state` fields are set by the services as the player signs in and
    joins; `on_close` callbacks run once when the socket ends, in registration order."""

    transport: Transport
    ip: str
    node_id: str = "node-1"
    max_queue: int = 256
    id: str = field(default_factory=lambda: f"c{next(_ids)}")
    wallet: str | None = None
    session_id: str | None = None
    role: str | None = None
    player_id: str | None = None
    username: str | None = None
    guest: bool = False
    room: str | None = None
    closed: bool = False
    close_code: int | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    # Set by a handler whose reply must be the last frame (logout): the transport sends the
    # reply, then closes with this code.
    close_after_reply: tuple[int, str] | None = None
    # Work that must follow the reply to the current message (a match resumed on join is
    # pushed after `joined`, not before it); run by the transport once the reply is queued.
    after_reply: list[Callable[[], None]] = field(default_factory=list)
    on_close: list[Callable[[Connection], Awaitable[None]]] = field(default_factory=list)
    _queue: deque[str] = field(default_factory=deque)
    _wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    _drained: asyncio.Event = field(default_factory=asyncio.Event)
    _writer: asyncio.Task[None] | None = None

    @property
    def authenticated(self) -> bool:
        return self.wallet is not None or self.guest

    def start(self) -> None:
        self._writer = asyncio.create_task(self._write_loop(), name=f"writer-{self.id}")

    def send(self, payload: dict[str, Any]) -> None:
        self.send_text(dumps(payload))

    def send_text(self, text: str) -> None:
        """Queue a serialised frame; never blocks. Overflow drops the oldest frame."""
        if self.closed:
            return
        if len(self._queue) >= self.max_queue:
            self._queue.popleft()
            logger.warning("outgoing queue full; dropped a frame", extra={"conn": self.id})
        self._queue.append(text)
        self._drained.clear()
        self._wakeup.set()

    async def _write_loop(self) -> None:
        try:
            while True:
                await self._wakeup.wait()
                self._wakeup.clear()
                while self._queue:
                    await self.transport.send_text(self._queue.popleft())
                self._drained.set()
        except asyncio.CancelledError:
            raise
        except Exception:  # the socket went away; the reader side sees the disconnect
            logger.debug("writer stopped", extra={"conn": self.id}, exc_info=True)

    async def flush(self) -> None:
        """Wait until queued frames have been handed to the socket (callers bound it)."""
        if self._queue and self._writer is not None and not self._writer.done():
            await self._drained.wait()

    async def close(self, code: int, reason: str = "") -> None:
        """Flush what is queued (briefly), then close the socket with `code`."""
        if self.closed:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CLOSE_FLUSH_SECONDS):
                await self.flush()
        self.closed = True
        self.close_code = code
        with contextlib.suppress(Exception):
            await self.transport.close(code, reason)
        # Leave rooms and record presence now, not when the peer gets round to closing.
        await self._run_hooks()

    async def finish(self) -> None:
        """Called once by the transport when the socket has ended: stop the writer, run hooks."""
        self.closed = True
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._writer
        await self._run_hooks()

    async def _run_hooks(self) -> None:
        hooks, self.on_close = self.on_close, []
        for hook in hooks:
            try:
                await hook(self)
            except Exception:
                logger.exception("on_close hook failed", extra={"conn": self.id})
