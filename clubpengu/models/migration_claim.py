"""MigrationClaim: one localStorage save a wallet brought, applied at once or held for review."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from beanie import Document, Indexed
from pydantic import Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from clubpengu.models.base import CAMEL, utcnow


class ClaimStatus(StrEnum):
    APPLIED = "applied"  # under every review threshold: applied when it was sent
    PENDING = "pending"  # held for staff review; nothing of it is credited
    APPROVED = "approved"
    REJECTED = "rejected"


class MigrationClaim(Document):
    """A save as its wallet sent it (`submitted`, JSON text of at most a few kB), what the
    planner made of it (`plan`, `dropped`), why it was held (`held`, empty when applied at
    once) and the staff decision (who, role, when, why).

    One claim per wallet (unique index): a wallet brings one save, once, whether it was
    applied, held, approved or rejected. `by_status` serves the review queue and the
    collusion view (held and rejected claims, newest first).
    """

    model_config = CAMEL

    wallet_address: Annotated[str, Indexed(unique=True)]
    status: ClaimStatus
    source: str = "in_game"
    submitted: str
    plan: dict[str, Any]
    dropped: list[dict[str, str]] = Field(default_factory=list)
    held: list[str] = Field(default_factory=list)
    coins: int = Field(default=0, ge=0)
    credited: int = Field(default=0, ge=0)
    created_at: datetime = Field(default_factory=utcnow)
    decided_at: datetime | None = None
    decided_by: str | None = None
    decided_role: str | None = None
    reason: str | None = None

    class Settings:
        name = "migration_claims"
        indexes = [
            IndexModel([("status", ASCENDING), ("createdAt", DESCENDING)], name="by_status"),
        ]
