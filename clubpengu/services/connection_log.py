"""Writes a ConnectionLog when a connection ends, in the background: a close never waits
for the database, and shutdown flushes what is still being written.

A log, not state (docs/durability.md): the entries do not wait for the journal, and the
entries of connections that end together (a shutdown closing every socket, a crowd
leaving) go in one `insert_many` (services/group_writer.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from clubpengu.db import without_journal_wait
from clubpengu.models import ConnectionLog
from clubpengu.models.base import utcnow
from clubpengu.services.group_writer import GroupWriter

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
        self._writer: GroupWriter[dict[str, Any]] = GroupWriter(_insert, name="connection-log")

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
        # A failed write is logged by the writer; a lost log line takes nothing else down.
        self._writer.submit_nowait(
            document.model_dump(by_alias=True, exclude={"id", "revision_id"})
        )

    async def flush(self) -> None:
        """Wait (at most FLUSH_TIMEOUT) for the writes in flight; used on shutdown."""
        await self._writer.flush(FLUSH_TIMEOUT)

    @property
    def pending(self) -> int:
        return self._writer.pending


async def _insert(documents: list[dict[str, Any]]) -> None:
    collection = without_journal_wait(ConnectionLog.get_pymongo_collection())
    await collection.insert_many(documents, ordered=False)
