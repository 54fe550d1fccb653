"""Event: the per-player history (seed 003's event log) — sign-ins, failed sign-ins,
joins and room changes — for support staff and the analysts' report."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from beanie import Document
from pydantic import Field, model_validator
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
    """The seed's `audit_logs`: who changed what, when and from where — migrations and every
    staff action (services/audit.py writes the staff ones). Kept without expiry: it is what
    a rollback or a dispute replays.

    `actor` is who acted (a staff wallet, `cli:<user>`, `player:<wallet>`, `import`) and
    `role` the role they acted in, read from the configuration at that moment; `target`
    what the action was about (a wallet, `promo:<CODE>`, `report:<id>`); `wallet_address`
    repeats the target when it is a wallet, so a player's history finds it. `before` and
    `after` hold the state the action changed, where it has one."""

    model_config = CAMEL

    action: str
    actor: str
    role: str | None = None
    target: str | None = None
    wallet_address: str | None = None
    reason: str | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    source: str
    at: datetime = Field(default_factory=utcnow)
    details: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _target_defaults_to_the_wallet(self) -> AuditLog:
        # Migrations name only the wallet: it is their target too.
        if self.target is None and self.wallet_address is not None:
            self.target = self.wallet_address
        return self

    class Settings:
        name = "audit_logs"
        indexes = [
            IndexModel([("walletAddress", ASCENDING), ("at", DESCENDING)], name="by_wallet"),
            # The staff page (GET /admin/audit) filters on one of these and pages by _id
            # (services/audit.py names the index it walks).
            IndexModel([("actor", ASCENDING), ("_id", DESCENDING)], name="by_actor_page"),
            IndexModel([("target", ASCENDING), ("_id", DESCENDING)], name="by_target_page"),
            IndexModel([("action", ASCENDING), ("_id", DESCENDING)], name="by_action_page"),
            # The saves of one bulk-import run, for its rollback (services/import_rollback.py).
            IndexModel([("details.runId", ASCENDING)], name="by_import_run", sparse=True),
        ]
