"""ChatLog: the chat said in each room instance, kept CHAT_LOG_RETENTION (30 days) so that a
player report carries the lines it is about.

Recording is a list append on the chat's path (the hub calls `record` for every line); a
task writes what accumulated about once a second with one unordered `insert_many`, and
on shutdown. Chat lines are history, not money: the batch is written without waiting for
the journal, a failed batch is kept and retried, and the buffer is capped (oldest dropped,
counted) so an outage cannot exhaust memory. `recent` reads a room's last lines from the
database and adds those of this node not written yet, so a report made right after a line
includes it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Container
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError
from pymongo.write_concern import WriteConcern

from clubpengu.background import PeriodicTask
from clubpengu.models import ChatLine
from clubpengu.models.base import utcnow

logger = logging.getLogger(__name__)
CONTEXT_LINES = 20  # the lines a report keeps


def public_line(doc: dict[str, Any]) -> dict[str, Any]:
    """A chat line as a report keeps it (and the staff API shows it)."""
    at = doc["at"]
    return {
        "walletAddress": doc.get("walletAddress"),
        "playerId": doc["playerId"],
        "username": doc["username"],
        "room": doc["room"],
        "sent": doc["sent"],
        "shown": doc["shown"],
        "at": at.isoformat() if isinstance(at, datetime) else at,
    }


class ChatLog:
    """Implements the hub's ChatRecorder (realtime/moderation.py); see the module docstring."""

    def __init__(
        self,
        client: AsyncMongoClient[dict[str, Any]],
        db_name: str,
        node_id: str,
        retention_seconds: float,
        *,
        interval: float = 1.0,
        max_buffer: int = 50_000,
        clock: Callable[[], datetime] = utcnow,
        erased: Container[str] = frozenset(),
    ) -> None:
        collection = client[db_name][ChatLine.Settings.name]
        self.erased = erased  # as EventRecorder's: a wallet being erased writes no line
        # Acknowledged by the server without waiting for its journal: a line lost to a
        # crash of the database is an acceptable loss, a journal wait per batch is not.
        self.lines = collection.with_options(write_concern=WriteConcern(w=1, j=False))
        self.node_id = node_id
        self.retention = timedelta(seconds=retention_seconds)
        self.max_buffer = max_buffer
        self.clock = clock
        self.dropped = 0
        self._buffer: list[dict[str, Any]] = []
        self._writing: list[dict[str, Any]] = []  # the batch being inserted now
        self._lock = asyncio.Lock()
        self._writer = PeriodicTask("chat-log", interval, self.flush)

    def record(
        self,
        room: str,
        wallet: str | None,
        player_id: str,
        username: str,
        sent: str,
        shown: str,
    ) -> None:
        if wallet is not None and wallet in self.erased:
            return
        now = self.clock()
        if len(self._buffer) >= self.max_buffer:
            self._buffer.pop(0)
            self.dropped += 1
        self._buffer.append(
            {
                "_id": ObjectId(),  # set here, so a line read back before it is written is one
                "room": room, "walletAddress": wallet, "playerId": player_id,
                "username": username, "sent": sent, "shown": shown, "at": now,
                "nodeId": self.node_id, "expiresAt": now + self.retention,
            }
        )  # fmt: skip

    async def flush(self) -> int:
        """Write what accumulated; the number of lines written (0 on failure: kept)."""
        async with self._lock:
            batch, self._buffer = self._buffer, []
            if self.erased:
                batch = [line for line in batch if line["walletAddress"] not in self.erased]
            if not batch:
                return 0
            self._writing = batch
            try:
                await self.lines.insert_many(batch, ordered=False)
            except PyMongoError:
                logger.warning("chat lines not written; will retry", extra={"lines": len(batch)})
                room = self.max_buffer - len(self._buffer)
                self._buffer[:0] = batch[-room:] if room > 0 else []
                return 0
            finally:
                self._writing = []
            return len(batch)

    async def recent(self, room: str, limit: int = CONTEXT_LINES) -> list[dict[str, Any]]:
        """The last `limit` lines said in `room` (an instance), oldest first: those written
        (from any node) and this node's not written yet."""
        cursor = self.lines.find({"room": room}).sort("at", -1).limit(limit)
        found = {doc["_id"]: doc for doc in await cursor.to_list()}
        for doc in (*self._writing, *self._buffer):
            if doc["room"] == room:
                found[doc["_id"]] = doc
        newest = sorted(found.values(), key=lambda doc: (doc["at"], doc["_id"]))[-limit:]
        return [public_line(doc) for doc in newest]

    @property
    def pending(self) -> int:
        return len(self._buffer)

    def start(self) -> None:
        self._writer.start()

    async def stop(self) -> None:
        """Stop the timer (a batch being written is let finish) and write what is left."""
        await self._writer.stop()
        await self.flush()
