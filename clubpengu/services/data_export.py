"""A wallet's data as one JSON document (docs/privacy.md, "The export"), written piece by
piece as the database cursors return it, so a long history never sits in memory whole.

    {"schema": "clubpengu.data-export", "version": 1, "walletAddress": "...",
     "generatedAt": "...", "collections": {"users": [...], "transactions": [...], ...}}

Every collection of the registry (services/data_registry.py) that can hold a player's data
appears, in its order, with
the documents its filter finds (sorted by `_id`), as stored (camelCase names), less the
fields it never exports. Ids become strings, times ISO-8601.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

import orjson
from bson import ObjectId
from pymongo.asynchronous.database import AsyncDatabase

from clubpengu.errors import RateLimited
from clubpengu.models.base import iso, utcnow
from clubpengu.services.counters import DailyCounter
from clubpengu.services.data_registry import EXPORTED
from clubpengu.services.keyed_hash import KeyedHash

SCHEMA = "clubpengu.data-export"
VERSION = 1
CHUNK_CHARS = 32_000  # what one WebSocket frame or HTTP chunk carries at most
BATCH = 500


def _default(value: Any) -> Any:
    if isinstance(value, ObjectId):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return str(value)


def dumps(value: Any) -> str:
    return orjson.dumps(value, default=_default, option=orjson.OPT_UTC_Z).decode()


async def pieces(
    db: AsyncDatabase[dict[str, Any]], wallet: str, now: datetime
) -> AsyncIterator[str]:
    """The document, in pieces whose concatenation is the JSON text."""
    head = {"schema": SCHEMA, "version": VERSION, "walletAddress": wallet, "generatedAt": iso(now)}
    yield dumps(head)[:-1] + ',"collections":{'
    for index, policy in enumerate(EXPORTED):
        yield ("," if index else "") + dumps(policy.collection) + ":["
        projection = {name: 0 for name in policy.omit} or None
        cursor = db[policy.collection].find(policy.find(wallet), projection, batch_size=BATCH)
        first = True
        async for doc in cursor.sort("_id", 1):
            yield ("" if first else ",") + dumps(doc)
            first = False
        yield "]"
    yield "}}"


async def chunks(
    db: AsyncDatabase[dict[str, Any]], wallet: str, now: datetime, size: int = CHUNK_CHARS
) -> AsyncIterator[str]:
    """`pieces` gathered into chunks of about `size` characters."""
    buffer: list[str] = []
    held = 0
    async for piece in pieces(db, wallet, now):
        buffer.append(piece)
        held += len(piece)
        if held >= size:
            yield "".join(buffer)
            buffer, held = [], 0
    if buffer:
        yield "".join(buffer)


class ExportLimit:
    """DATA_EXPORTS_PER_DAY per wallet (0: no limit), counted on every node alike (the
    daily counters: Redis when there is one). The key is a keyed hash of the wallet."""

    def __init__(
        self,
        counter: DailyCounter,
        per_day: int,
        secret: str,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.counter = counter
        self.per_day = per_day
        self.keys = KeyedHash(secret, "export-limit")
        self.clock = clock

    async def take(self, wallet: str) -> None:
        """Count one export of `wallet`; raises RateLimited over the limit."""
        if self.per_day <= 0:
            return
        day = self.clock().strftime("%Y-%m-%d")
        if await self.counter.hit("data_export", self.keys.hex(wallet), day) > self.per_day:
            raise RateLimited(f"At most {self.per_day} exports of your data a day")
