"""Event: the per-player history (seed 003's event log) — sign-ins, failed sign-ins,
joins and room changes — for support staff and the analysts' report."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from beanie import Document
from pydantic import Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from clubpengu.models.base import CAMEL, utcnow


class Event(Document):
    """One thing that happened to a player. `expires_at` is `at` plus the retention
    (EVENT_RETENTION, default 180 days) and carries the TTL index, so the retention can be
    changed without rebuilding an index; it applies to events written after the change."""

    model_config = CAMEL

    kind: str
    wallet_address: str | None = None
    at: datetime = Field(default_factory=utcnow)
    node_id: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    expires_at: datetime

    class Settings:
        name = "events"
        indexes = [
            IndexModel([("walletAddress", ASCENDING), ("at", DESCENDING)], name="by_wallet"),
            IndexModel([("kind", ASCENDING), ("at", ASCENDING)], name="by_kind"),
            # Date ranges over several kinds (the report) walk this one.
            IndexModel([("at", ASCENDING)], name="by_at"),
            IndexModel([("expiresAt", ASCENDING)], expireAfterSeconds=0, name="ttl"),
        ]


class AuditLog(Document):
    """The seed's `audit_logs`: who changed what, when and from where, for migrations and
    staff actions. Kept without expiry: it is what a rollback or a dispute replays."""

    model_config = CAMEL

    action: str
    actor: str
    wallet_address: str | None = None
    source: str
    at: datetime = Field(default_factory=utcnow)
    details: dict[str, Any] = Field(default_factory=dict)

    class Settings:
        name = "audit_logs"
        indexes = [
            IndexModel([("walletAddress", ASCENDING), ("at", DESCENDING)], name="by_wallet"),
            IndexModel([("action", ASCENDING), ("at", DESCENDING)], name="by_action"),
        ]
