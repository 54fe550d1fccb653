"""The node's live connections: counted for /health, closed together on shutdown.

`closing` is set once the node begins to shut down: no new connection is accepted, and
a player whose socket ends then is leaving, not dropped (nothing waits for a reconnect)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

from clubpengu.realtime.connection import Connection


class ConnectionRegistry:
    def __init__(self) -> None:
        self._connections: dict[str, Connection] = {}
        self.closing = False

    def __len__(self) -> int:
        return len(self._connections)

    def __iter__(self) -> Iterator[Connection]:
        return iter(list(self._connections.values()))

    def add(self, connection: Connection) -> None:
        self._connections[connection.id] = connection

    def remove(self, connection: Connection) -> None:
        self._connections.pop(connection.id, None)

    def get(self, connection_id: str) -> Connection | None:
        return self._connections.get(connection_id)

    def stalled(self, now: float, limit: float) -> list[Connection]:
        """Connections whose writer has been stuck, or queue full, for `limit` seconds."""
        return [c for c in self._connections.values() if not c.closed and c.stalled(now, limit)]

    async def close_all(self, code: int, reason: str = "") -> None:
        """Close every connection with `code`; each close waits only briefly to flush."""
        connections = list(self._connections.values())
        await asyncio.gather(*(c.close(code, reason) for c in connections), return_exceptions=True)
