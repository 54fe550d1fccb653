"""Writes a ConnectionLog when a connection ends, in the background: a close never waits
for the database, and shutdown flushes what is still being written."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from clubpengu.background import TrackedTasks
from clubpengu.models import ConnectionLog
from clubpengu.models.base import utcnow

logger = logging.getLogger(__name__)
FLUSH_TIMEOUT = 5.0


@dataclass
class ConnectionRecord:
    """What the transport knows about a connection when it ends."""

    wallet: str
    connection_id: str
    connected_at: datetime
    rooms_visited: list[str] = field(default_factory=list)
    close_code: int | None = None
    client_version: str | None = None
    ip_hash: str | None = None


class ConnectionLogService:
    def __init__(
        self, node_id: str, ttl_seconds: float, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.node_id = node_id
        self.ttl = timedelta(seconds=ttl_seconds)
        self.clock = clock
        self._writes = TrackedTasks()

    def record(self, record: ConnectionRecord) -> None:
        """Schedule the write and return at once."""
        now = self.clock()
        document = ConnectionLog(
            wallet_address=record.wallet,
            node_id=self.node_id,
            connection_id=record.connection_id,
            connected_at=record.connected_at,
            disconnected_at=now,
            rooms_visited=record.rooms_visited,
            close_code=record.close_code,
            client_version=record.client_version,
            ip_hash=record.ip_hash,
            expires_at=now + self.ttl,
        )
        self._writes.spawn(self._write(document), name=f"connlog-{record.connection_id}")

    async def _write(self, document: ConnectionLog) -> None:
        try:
            await document.insert()
        except Exception:
            # A lost log line must not take anything else down; the log says so.
            logger.exception("connection log write failed", extra={"conn": document.connection_id})

    async def flush(self) -> None:
        """Wait (at most FLUSH_TIMEOUT) for the writes in flight; used on shutdown."""
        await self._writes.wait(FLUSH_TIMEOUT)

    @property
    def pending(self) -> int:
        return len(self._writes)
