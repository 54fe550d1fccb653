"""A client connection as the services and the hub see it, independent of the web framework.

Frames are serialised once by the caller and queued as `str`; one writer task per
connection drains the queue, so a slow client never blocks whoever sent to it.

Queue policy (docs/protocol.md, "Slow clients"):
- `moves` batches are state, not events: a connection holds at most one unsent batch.
  When a newer batch arrives while one is still waiting, the waiting one is replaced by
  a snapshot of the room (every member's latest position), queued at the back, so the
  client loses nothing it needs and the queue does not grow.
- Every other frame (chat, coins, joins, replies) is kept, never dropped.
- Frames sent to this connection alone are counted here (`metrics`); a frame many
  connections get (`send_shared`, `send_moves`) is counted once by whoever fans it out.
- A frame for an idle connection (nothing queued, nothing being written) is written at
  once, in the caller's task: the tick's fan-out then costs one call per member instead of
  one task wake-up. If the socket cannot take it right away, the writer finishes it.
- A connection whose writer makes no progress, or whose queue stays at `max_queue`
  frames, for the slow-client limit is closed with 1008 by the watchdog
  (`ConnectionRegistry.stalled`); one whose queue reaches `HARD_LIMIT_FACTOR * max_queue`
  is closed at once. A close that cannot be written (the peer stopped reading, so the
  socket's buffers are full) is abandoned after `CLOSE_TIMEOUT` and the socket aborted.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
import types
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Generator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson

from clubpengu.metrics import Metrics
from clubpengu.realtime.moderation import Mute

logger = logging.getLogger(__name__)
_ids = itertools.count(1)
CLOSE_FLUSH_SECONDS = 1.0  # how long a close waits for queued frames to leave
CLOSE_TIMEOUT = 2.0  # how long a close frame may take to be written before an abort
HARD_LIMIT_FACTOR = 4
WS_1008_POLICY_VIOLATION = 1008
# Codes a client sends to leave on purpose; anything else from the peer is a drop.
DELIBERATE_CLOSE_CODES = frozenset({1000, 1001})


class Transport(Protocol):
    """What a connection needs from the socket underneath (transport/ws.py supplies it)."""

    async def send_text(self, text: str) -> None: ...

    async def close(self, code: int, reason: str = "") -> None: ...

    def abort(self) -> None:
        """Drop the socket without a closing handshake (best effort)."""
        ...

    def write_frame(self, frame: bytes) -> bool:
        """Write a complete pre-built frame now if the socket allows; False otherwise."""
        ...


def dumps(payload: dict[str, Any]) -> str:
    return orjson.dumps(payload).decode()


class Shared:
    """A frame for many connections (a room's batch, a chat line): the text, and its
    WebSocket frame built at most once (RFC 6455 §5.2: FIN + text opcode, unmasked as a
    server sends it, length in 7, 16 or 64 bits)."""

    __slots__ = ("_frame", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._frame: bytes | None = None

    @property
    def frame(self) -> bytes:
        if self._frame is None:
            payload = self.text.encode()
            size = len(payload)
            if size < 126:
                header = bytes((0x81, size))
            elif size < 1 << 16:
                header = b"\x81\x7e" + size.to_bytes(2, "big")
            else:
                header = b"\x81\x7f" + size.to_bytes(8, "big")
            self._frame = header + payload
        return self._frame


@types.coroutine
def _finish(coro: Coroutine[Any, Any, None], pending: Any) -> Generator[Any, Any, None]:
    """Drive to completion a send that ran its first step elsewhere (`_send_now`) and then
    had to wait: the future it waits on is handed up to the writer task that awaits this."""
    while True:
        try:
            value = yield pending
        except BaseException as error:
            try:
                pending = coro.throw(error)
            except StopIteration:
                return
        else:
            try:
                pending = coro.send(value)
            except StopIteration:
                return


class _MovesSlot:
    """The one queued `moves` batch of a connection, found again by identity."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


@dataclass(eq=False)
class Connection:
    """One WebSocket. `state` fields are set by the services as the player signs in and
    joins; `on_close` callbacks run once when the socket ends, in registration order."""

    transport: Transport
    ip: str
    node_id: str = "node-1"
    max_queue: int = 256
    metrics: Metrics = field(default_factory=Metrics, repr=False)
    id: str = field(default_factory=lambda: f"c{next(_ids)}")
    wallet: str | None = None
    session_id: str | None = None
    role: str | None = None
    mute: Mute | None = None
    # Wallets whose chat and emotes this connection is not sent (its player's ignore list).
    ignored: frozenset[str] = frozenset()
    player_id: str | None = None
    username: str | None = None
    guest: bool = False
    room: str | None = None
    # `closed`: nothing more is queued. `closed_by_server`: this side started the close
    # (kick, logout, slow client, shutdown), so the player left on purpose, not dropped.
    closed: bool = False
    closed_by_server: bool = False
    close_code: int | None = None
    connected_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    rooms_visited: list[str] = field(default_factory=list)
    client_version: str | None = None
    moves_superseded: int = 0
    requests: int = 0  # frames handed to the router so far (transport/router.py)
    # Whether the peer has closed or dropped the socket although frames it sent before
    # are still being read (transport/ws.py); False when the server cannot tell.
    peer_gone: Callable[[], bool] = field(default=lambda: False, repr=False)
    attributes: dict[str, Any] = field(default_factory=dict)
    # Set by a handler whose reply must be the last frame (logout): the transport sends the
    # reply, then closes with this code.
    close_after_reply: tuple[int, str] | None = None
    # Work that must follow the reply to the current message (a match resumed on join is
    # pushed after `joined`, not before it); run by the transport once the reply is queued.
    after_reply: list[Callable[[], None]] = field(default_factory=list)
    on_close: list[Callable[[Connection], Awaitable[None]]] = field(default_factory=list)
    _queue: deque[str | _MovesSlot] = field(default_factory=deque)
    # Pushes held back while a join is being answered (`hold`): the reply comes first.
    _held: list[str] | None = None
    _moves: _MovesSlot | None = None
    _wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    _drained: asyncio.Event = field(default_factory=asyncio.Event)
    _writer: asyncio.Task[None] | None = None
    _inflight: Any = None  # a send started by `_send_now` that had to wait
    _closer: asyncio.Task[None] | None = None
    _busy: bool = False
    _progress_at: float = 0.0
    _full_since: float | None = None

    @property
    def authenticated(self) -> bool:
        return self.wallet is not None or self.guest

    @property
    def dropped(self) -> bool:
        """The peer went away without saying goodbye (network loss, ping timeout, a close
        without 1000/1001): the player may come back within the reconnect grace."""
        return not self.closed_by_server and self.close_code not in DELIBERATE_CLOSE_CODES

    @property
    def queued(self) -> int:
        return len(self._queue)

    def start(self) -> None:
        self._writer = asyncio.create_task(self._write_loop(), name=f"writer-{self.id}")

    def send(self, payload: dict[str, Any]) -> None:
        self.send_text(dumps(payload))

    def send_text(self, text: str) -> None:
        """Queue a serialised frame that must arrive (never dropped); never blocks."""
        if self.closed:
            return
        self.metrics.message_out_text(text)
        if self._held is not None:
            self._held.append(text)
            return
        self._enqueue(text)

    def hold(self) -> None:
        """Keep pushes back until the reply to the message being handled is sent
        (`send_reply`). A join seats the player, then still writes presence before it
        answers: without the hold, others' `player_joined`, chat or `moves` could reach
        the client before its `joined`, whose player list does not account for them."""
        if self._held is None:
            self._held = []

    def send_reply(self, text: str | None) -> None:
        """Queue the direct reply to a client's message (if any), then the pushes held
        back meanwhile, in order."""
        held, self._held = self._held, None
        if self.closed:
            return
        if text is not None:
            self.metrics.message_out_text(text)
            self._enqueue(text)
        for pushed in held or ():
            self._enqueue(pushed)

    def send_shared(self, shared: Shared) -> None:
        """`send_text` for a frame many connections get: written pre-framed when idle."""
        if self.closed:
            return
        if self._held is not None:
            self._held.append(shared.text)
            return
        if self._idle and self.transport.write_frame(shared.frame):
            return
        self._enqueue(shared.text)

    def send_moves(self, batch: Shared, snapshot: Callable[[], str]) -> None:
        """Queue a `moves` batch. If the previous batch has not left yet, it is superseded:
        replaced by `snapshot()` (all the room's positions) at the back of the queue."""
        if self.closed:
            return
        if self._held is not None:
            self._held.append(batch.text)
            return
        waiting = self._moves
        if waiting is None:
            if self._idle and self.transport.write_frame(batch.frame):
                return
            text = batch.text
        else:
            self._queue.remove(waiting)  # O(queue), only ever for a client that is behind
            self.moves_superseded += 1
            self.metrics.outgoing_dropped()
            text = snapshot()
        self._moves = _MovesSlot(text)
        self._enqueue(self._moves)

    @property
    def _idle(self) -> bool:
        """Nothing queued or being written: a new frame may go straight out, in order."""
        return not self._queue and not self._busy and self._writer is not None

    def _enqueue(self, item: str | _MovesSlot) -> None:
        queue = self._queue
        if not queue and not self._busy:
            if self._writer is not None:
                if isinstance(item, _MovesSlot):
                    self._moves = None
                    item = item.text
                self._send_now(item)
                return
            self._progress_at = time.monotonic()
        queue.append(item)
        if len(queue) >= self.max_queue:
            if self._full_since is None:
                self._full_since = time.monotonic()
            if len(queue) >= self.max_queue * HARD_LIMIT_FACTOR and self._closer is None:
                self.metrics.slow_client_closed()
                self.close_soon(WS_1008_POLICY_VIOLATION, "too slow: outgoing queue overflow")
        self._drained.clear()
        self._wakeup.set()

    def _send_now(self, text: str) -> None:
        """Write `text` now; if the socket makes the send wait, the writer takes it over."""
        coro = self.transport.send_text(text)
        try:
            pending = coro.send(None)
        except StopIteration:
            return
        except Exception:  # the socket went away; the reader side sees the disconnect
            logger.debug("send failed", extra={"conn": self.id}, exc_info=True)
            return
        self._busy = True
        self._progress_at = time.monotonic()
        self._inflight = _finish(coro, pending)
        self._drained.clear()
        self._wakeup.set()

    def stalled(self, now: float, limit: float) -> bool:
        """True when the writer has been stuck, or the queue full, for `limit` seconds."""
        if (self._queue or self._busy) and now - self._progress_at >= limit:
            return True
        return self._full_since is not None and now - self._full_since >= limit

    async def _write_loop(self) -> None:
        queue = self._queue
        try:
            while True:
                await self._wakeup.wait()
                self._wakeup.clear()
                if self._inflight is not None:
                    await self._inflight
                    self._inflight = None
                    self._busy = False
                    self._progress_at = time.monotonic()
                while queue:
                    item = queue.popleft()
                    if item.__class__ is _MovesSlot:
                        if item is self._moves:
                            self._moves = None
                        text = item.text
                    else:
                        text = item  # type: ignore[assignment]
                    self._busy = True
                    await self.transport.send_text(text)
                    self._busy = False
                    self._progress_at = time.monotonic()
                    if self._full_since is not None and len(queue) < self.max_queue // 2:
                        self._full_since = None
                self._drained.set()
        except asyncio.CancelledError:
            raise
        except Exception:  # the socket went away; the reader side sees the disconnect
            logger.debug("writer stopped", extra={"conn": self.id}, exc_info=True)

    async def flush(self) -> None:
        """Wait until queued frames have been handed to the socket (callers bound it)."""
        if (self._queue or self._busy) and self._writer is not None and not self._writer.done():
            await self._drained.wait()

    def close_soon(self, code: int, reason: str, *, flush: bool = False) -> None:
        """Start `close` from synchronous code; the task is kept until it has run."""
        if self._closer is None and not self.closed:
            self._closer = asyncio.create_task(
                self.close(code, reason, flush=flush), name=f"close-{self.id}"
            )

    async def close(self, code: int, reason: str = "", *, flush: bool = True) -> None:
        """Flush what is queued (briefly, unless `flush` is false: a slow client is not
        waited for), then close the socket with `code`; abort it if the close cannot be
        written. Then run the close hooks (leave rooms, record presence) at once."""
        if self.closed:
            return
        self.closed = self.closed_by_server = True
        self.close_code = code
        if flush:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(CLOSE_FLUSH_SECONDS):
                    await self.flush()
        await self._stop_writer()
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await self.transport.close(code, reason)
        except TimeoutError:
            logger.warning("close not written in time; aborting", extra={"conn": self.id})
            self.transport.abort()
        except Exception:
            logger.debug("close failed", extra={"conn": self.id}, exc_info=True)
        await self._run_hooks()

    async def finish(self, peer_code: int | None = None) -> None:
        """Called once by the transport when the socket has ended: stop the writer, run
        hooks. `peer_code` is the code the peer closed with, if this side did not close."""
        if not self.closed_by_server:
            self.close_code = peer_code
        self.closed = True
        await self._stop_writer()
        await self._run_hooks()

    async def _stop_writer(self) -> None:
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._writer
            self._writer = None
        if self._inflight is not None:
            self._inflight.close()
            self._inflight = None
        self._queue.clear()
        self._moves = None
        self._drained.set()

    async def _run_hooks(self) -> None:
        hooks, self.on_close = self.on_close, []
        for hook in hooks:
            try:
                await hook(self)
            except Exception:
                logger.exception("on_close hook failed", extra={"conn": self.id})
