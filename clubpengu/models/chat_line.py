"""ChatLine: the chat said in each room instance, kept CHAT_LOG_RETENTION for player reports."""

from __future__ import annotations

from datetime import datetime

from beanie import Document
from pymongo import ASCENDING, DESCENDING, IndexModel

from clubpengu.models.base import CAMEL


class ChatLine(Document):
    """One chat line as it was said in a room instance: the context a player report keeps.
    Written in batches off the hot path (services/chat_log.py); expired by the TTL index on
    `expires_at` (`at` + CHAT_LOG_RETENTION)."""

    model_config = CAMEL

    room: str  # the instance (town, town~2 ...)
    wallet_address: str | None = None  # None for a guest
    player_id: str
    username: str
    sent: str  # the text as the player sent it (trimmed)
    shown: str  # ... and as the room saw it, after the word filter
    at: datetime
    node_id: str
    expires_at: datetime

    class Settings:
        name = "chat_lines"
        indexes = [
            IndexModel([("room", ASCENDING), ("at", DESCENDING)], name="by_room"),
            IndexModel([("expiresAt", ASCENDING)], expireAfterSeconds=0, name="ttl"),
        ]
