"""ConnectionLog: one document per WebSocket connection (the connection history of seeds 001
and 003), for support and abuse investigations. Expired by MongoDB's TTL monitor."""

from __future__ import annotations

from datetime import datetime

from beanie import Document
from pydantic import Field
from pymongo import ASCENDING, IndexModel

from clubpengu.models.base import CAMEL


class ConnectionLog(Document):
    """Written when the connection opens, updated when it signs in, joins and closes
    (services/connection_log.py), so a node killed outright loses at most the close of its
    open connections: their `disconnected_at` stays None until that node starts again
    and marks them closed (`closed_by` "restart").

    `expires_at` carries the TTL index (`expireAfterSeconds=0`): the open time +
    CONNECTION_LOG_TTL at first, the close time + CONNECTION_LOG_TTL once closed, so
    changing the TTL needs no index rebuild. `ip_hash` and `device_hash` are HMACs under
    keys derived from the server secret; `user_agent` is cut to USER_AGENT_CHARS and
    `user_agent_hash` is the HMAC of the whole header: nothing raw is stored.
    """

    model_config = CAMEL

    wallet_address: str | None = None  # None until the connection signs in (or a guest)
    node_id: str
    connection_id: str
    connected_at: datetime
    signed_in_at: datetime | None = None
    joined_at: datetime | None = None
    disconnected_at: datetime | None = None
    guest: bool = False
    rooms_visited: list[str] = Field(default_factory=list)
    close_code: int | None = None
    # "restart": the node stopped without closing it; `disconnected_at` is then when the
    # node (same NODE_ID) started again, an upper bound of the close.
    closed_by: str | None = None
    client_version: str | None = None
    ip_hash: str | None = None
    device_hash: str | None = None
    user_agent: str | None = None
    user_agent_hash: str | None = None
    expires_at: datetime

    class Settings:
        name = "connection_logs"
        indexes = [
            IndexModel([("expiresAt", ASCENDING)], expireAfterSeconds=0, name="ttl"),
            IndexModel([("walletAddress", ASCENDING), ("connectedAt", ASCENDING)], name="history"),
        ]
