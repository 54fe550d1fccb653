"""`data_export`, `data_erasure_request`, `data_erasure_cancel` (docs/protocol.md §14): a
signed-in player's own data. The export is streamed after the reply, in
`data_export_chunk` frames, as fast as the player's socket takes them."""

from __future__ import annotations

import logging
import uuid
from functools import partial
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from clubpengu.background import Spawn
from clubpengu.models.base import iso
from clubpengu.realtime.connection import Connection
from clubpengu.services import data_export
from clubpengu.services.data_export import ExportLimit
from clubpengu.services.erasure import ErasureService
from clubpengu.transport.handlers import require_wallet
from clubpengu.transport.messages import DataErasureCancel, DataErasureRequest, DataExport
from clubpengu.transport.router import Router

logger = logging.getLogger(__name__)
QUEUED_CHUNKS = 4  # chunks waiting on the socket before the export waits for it


class PrivacyHandlers:
    def __init__(
        self,
        db: AsyncDatabase[dict[str, Any]],
        exports: ExportLimit,
        erasure: ErasureService,
        spawn: Spawn,
    ) -> None:
        self.db, self.exports, self.erasure, self.spawn = db, exports, erasure, spawn

    async def export(self, connection: Connection, message: DataExport) -> dict[str, Any]:
        wallet = require_wallet(connection, "Guests hold no data; sign in with a wallet")
        await self.exports.take(wallet)
        export_id = uuid.uuid4().hex[:16]
        connection.after_reply.append(partial(self._start, connection, wallet, export_id))
        return {
            "type": "data_export_started",
            "exportId": export_id,
            "schema": data_export.SCHEMA,
            "version": data_export.VERSION,
        }

    def _start(self, connection: Connection, wallet: str, export_id: str) -> None:
        self.spawn(self._stream(connection, wallet, export_id), f"export-{export_id}")

    async def _stream(self, connection: Connection, wallet: str, export_id: str) -> None:
        seq = 0
        async for chunk in data_export.chunks(self.db, wallet, self.exports.clock()):
            if connection.closed:
                return
            connection.send(
                {"type": "data_export_chunk", "exportId": export_id, "seq": seq, "data": chunk}
            )
            seq += 1
            if connection.queued >= QUEUED_CHUNKS:
                await connection.flush()
        connection.send({"type": "data_export_end", "exportId": export_id, "chunks": seq})

    async def request_erasure(
        self, connection: Connection, message: DataErasureRequest
    ) -> dict[str, Any]:
        wallet = require_wallet(connection, "Guests hold no data; sign in with a wallet")
        job = await self.erasure.request(wallet)
        return {"type": "data_erasure_pending", "dueAt": iso(job.due_at)}

    async def cancel_erasure(
        self, connection: Connection, message: DataErasureCancel
    ) -> dict[str, Any]:
        wallet = require_wallet(connection, "Guests hold no data; sign in with a wallet")
        await self.erasure.cancel(wallet)
        return {"type": "data_erasure_cancelled"}


def register(
    router: Router,
    db: AsyncDatabase[dict[str, Any]],
    exports: ExportLimit,
    erasure: ErasureService,
    spawn: Spawn,
) -> None:
    handlers = PrivacyHandlers(db, exports, erasure, spawn)
    router.add("data_export", DataExport, handlers.export)
    router.add("data_erasure_request", DataErasureRequest, handlers.request_erasure)
    router.add("data_erasure_cancel", DataErasureCancel, handlers.cancel_erasure)
