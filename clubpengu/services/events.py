"""EventRecorder: writes Event documents in the background, in batches.

Recording is a list append on the caller's path (sign-in, join, room change); a task
inserts what accumulated about once a second with one unordered `insert_many`, and on
shutdown. Events are history, not state: if the database is down, a failed batch is kept
and retried, but the buffer is capped (oldest dropped, with a warning) so an outage cannot
exhaust memory; and a batch does not wait for the journal (a kill -9 of the database may
lose the last tens of milliseconds of it, docs/durability.md).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Container
from datetime import datetime, timedelta
from typing import Any

from pymongo.errors import PyMongoError

from clubpengu.background import PeriodicTask
from clubpengu.db import without_journal_wait
from clubpengu.models.base import utcnow
from clubpengu.models.event import Event

logger = logging.getLogger(__name__)


class EventRecorder:
    def __init__(
        self,
        node_id: str,
        retention: timedelta,
        *,
        interval: float = 1.0,
        max_buffer: int = 100_000,
        clock: Callable[[], datetime] = utcnow,
        erased: Container[str] = frozenset(),
    ) -> None:
        self.node_id = node_id
        # Wallets being erased (realtime/erased.py): their events are not written, those
        # of their closing connections included, nor those batched when it began.
        self.erased = erased
        self.retention = retention
        self.interval = interval
        self.max_buffer = max_buffer
        self.clock = clock
        self._buffer: list[dict[str, Any]] = []
        self._writer = PeriodicTask("event-recorder", interval, self.flush)
        self._lock = asyncio.Lock()
        self.dropped = 0

    def record(self, kind: str, wallet: str | None, **data: Any) -> None:
        if wallet is not None and wallet in self.erased:
            return
        now = self.clock()
        if len(self._buffer) >= self.max_buffer:
            self._buffer.pop(0)
            self.dropped += 1
        self._buffer.append(
            {
                "kind": kind,
                "walletAddress": wallet,
                "at": now,
                "nodeId": self.node_id,
                "data": data,
                "expiresAt": now + self.retention,
            }
        )

    async def flush(self) -> int:
        async with self._lock:
            batch, self._buffer = self._buffer, []
            if self.erased:
                batch = [e for e in batch if e["walletAddress"] not in self.erased]
            if not batch:
                return 0
            try:
                events = without_journal_wait(Event.get_pymongo_collection())
                await events.insert_many(batch, ordered=False)
            except PyMongoError:
                logger.warning("event batch not written; will retry", extra={"events": len(batch)})
                self._buffer[:0] = batch[-(self.max_buffer - len(self._buffer)) :]
                return 0
            return len(batch)

    def start(self) -> None:
        self._writer.start()

    async def stop(self) -> None:
        """Stop the timer (a batch being written is let finish) and write what is left."""
        await self._writer.stop()
        await self.flush()
