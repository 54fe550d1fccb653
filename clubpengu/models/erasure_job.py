"""ErasureJob: one erasure of a wallet's data, its grace period and its progress step by
step (services/erasure.py)."""

from __future__ import annotations

from datetime import datetime

from beanie import Document
from pydantic import Field
from pymongo import ASCENDING, IndexModel

from clubpengu.models.base import CAMEL, utcnow


class ErasureJob(Document):
    """An erasure asked for by staff (due at once) or by the player (due after
    ERASURE_GRACE). `steps_done` names the registry's steps already carried out, so a
    job stopped half-way (a crash, a failed write) is finished by running it again.

    `wallet_address` is held only while the job is open (pending or running): a finished
    or cancelled job keeps the `tombstone` alone, and the sparse unique index on the wallet
    allows one open job per wallet. `lease_until` keeps two nodes from running the same
    job at once (both would be safe, every step being idempotent, but wasteful)."""

    model_config = CAMEL

    wallet_address: str | None = None
    username: str | None = None  # read when the job starts; dropped with the wallet
    tombstone: str
    status: str = "pending"  # pending, running, done, cancelled
    reason: str
    requested_by: str  # a staff wallet, `cli:<user>` or `player` (the wallet itself)
    source: str
    requested_at: datetime = Field(default_factory=utcnow)
    due_at: datetime
    steps_done: list[str] = Field(default_factory=list)
    counts: dict[str, int] = Field(default_factory=dict)
    attempts: int = 0
    lease_until: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    cancelled_at: datetime | None = None

    class Settings:
        name = "erasure_jobs"
        indexes = [
            IndexModel(
                [("walletAddress", ASCENDING)], name="one_open_job", unique=True, sparse=True
            ),
            IndexModel([("status", ASCENDING), ("dueAt", ASCENDING)], name="due"),
            IndexModel([("tombstone", ASCENDING)], name="by_tombstone"),
            # The nodes' look for erasures started elsewhere (ErasureService.notice).
            IndexModel([("startedAt", ASCENDING)], name="started", sparse=True),
        ]
