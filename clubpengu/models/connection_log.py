"""ConnectionLog: one document per signed-in WebSocket connection (seed 001's connection
history), for support and abuse investigations. Expired by MongoDB's TTL monitor."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from beanie import Document, Indexed
from pydantic import Field
from pymongo import ASCENDING, IndexModel

from clubpengu.models.base import CAMEL


class ConnectionLog(Document):
    """Written once, when the connection ends (never while it is open).

    `expires_at` is `disconnected_at` + CONNECTION_LOG_TTL, indexed with
    `expireAfterSeconds=0`, so changing the TTL needs no index rebuild. `ip_hash` is the
    same salted HMAC as on the User; the raw address is never stored.
    """

    model_config = CAMEL

    wallet_address: Annotated[str, Indexed()]
    node_id: str
    connection_id: str
    connected_at: datetime
    disconnected_at: datetime
    rooms_visited: list[str] = Field(default_factory=list)
    close_code: int | None = None
    client_version: str | None = None
    ip_hash: str | None = None
    expires_at: datetime

    class Settings:
        name = "connection_logs"
        indexes = [
            IndexModel([("expiresAt", ASCENDING)], expireAfterSeconds=0, name="ttl"),
            IndexModel([("walletAddress", ASCENDING), ("connectedAt", ASCENDING)], name="history"),
        ]
