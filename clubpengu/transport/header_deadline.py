"""A deadline for a request's headers, which uvicorn lacks (against slowloris).

uvicorn's `timeout_keep_alive` covers only the idle time between requests and is reset by
every byte received, so a client that trickles a header line every few seconds holds its
connection open for ever; an ASGI middleware cannot help, since the app is called only
once the headers are complete. So the HTTP protocol class uvicorn would use is extended:
from a connection's first byte (or the first byte of its next request), the headers must
be complete within HTTP_HEADER_TIMEOUT, else the connection is closed. The deadline ends
as soon as they are (the body has its own, transport/edge.py) or the connection becomes
a WebSocket. The attributes it reads (`cycle`, `transport`) are those of uvicorn's httptools
and h11 protocols; tests/transport/test_edge_http.py fails if a pinned uvicorn loses them.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

logger = logging.getLogger(__name__)


def with_header_deadline(base: Any, seconds: float) -> Any:
    """A subclass of uvicorn's HTTP protocol class `base` that enforces the deadline."""

    class HeaderDeadline(base):  # type: ignore[misc]
        header_timeout = seconds

        def connection_made(self, transport: asyncio.Transport) -> None:
            self._header_timer: asyncio.TimerHandle | None = None
            self._cycle_when_armed: Any = None
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            if self._header_timer is None and _between_requests(self):
                self._arm()
            super().data_received(data)
            if self._header_timer is not None and self._headers_complete():
                self._disarm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._cycle_when_armed = self.cycle
            loop = asyncio.get_running_loop()
            self._header_timer = loop.call_later(self.header_timeout, self._expire)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_complete(self) -> bool:
            # A new request cycle, a hand-over to a WebSocket protocol, or a closed socket.
            transport = self.transport
            return (
                self.cycle is not self._cycle_when_armed
                or transport.get_protocol() is not self
                or transport.is_closing()
            )

        def _expire(self) -> None:
            self._header_timer = None
            if not self.transport.is_closing():
                logger.debug("headers too slow: connection dropped")
                self.transport.close()

    return HeaderDeadline


def _between_requests(protocol: Any) -> bool:
    cycle = protocol.cycle
    return cycle is None or bool(cycle.response_complete)
