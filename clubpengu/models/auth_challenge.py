"""AuthChallenge: a sign-in challenge handed out over HTTP, waiting for its signature."""

from __future__ import annotations

from datetime import datetime

from beanie import Document
from pymongo import ASCENDING, IndexModel

from clubpengu.models.base import CAMEL


class AuthChallenge(Document):
    """HTTP sign-in challenges live in MongoDB rather than in one process's memory, so any
    node behind the load balancer can verify it; `find_one_and_delete` makes it single-use
    and the TTL index clears the ones never answered. (WebSocket challenges stay on their
    connection: they are bound to it.)"""

    model_config = CAMEL

    text: str
    wallet_address: str | None = None
    issued_at: datetime
    expires_at: datetime

    class Settings:
        name = "auth_challenges"
        indexes = [IndexModel([("expiresAt", ASCENDING)], expireAfterSeconds=0, name="ttl")]
