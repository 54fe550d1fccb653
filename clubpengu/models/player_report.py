"""PlayerReport: a player's report of another, with the chat it was about, for the staff's
report queue."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from beanie import Document
from pydantic import Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from clubpengu.models.base import CAMEL, CamelModel, utcnow


class ReportResolution(CamelModel):
    action: str  # dismiss, mute or ban
    reason: str
    duration: str | None = None
    until: datetime | None = None
    by: str
    role: str | None = None
    at: datetime


class PlayerReport(Document):
    """A player's report of another player in their room instance, with the last chat lines
    of that instance when it was made. `status` is `open` until a staff member resolves
    it; a report is resolved once."""

    model_config = CAMEL

    reporter_wallet: str
    reporter_name: str
    target_wallet: str | None = None  # None: the reported player was a guest
    target_name: str
    target_player_id: str
    room: str
    category: str
    text: str | None = None
    context: list[dict[str, Any]] = Field(default_factory=list)
    status: str = "open"
    created_at: datetime = Field(default_factory=utcnow)
    resolution: ReportResolution | None = None

    class Settings:
        name = "player_reports"
        indexes = [
            IndexModel([("status", ASCENDING), ("_id", DESCENDING)], name="queue"),
            IndexModel([("reporterWallet", ASCENDING), ("createdAt", DESCENDING)], name="sent"),
            IndexModel([("targetWallet", ASCENDING), ("_id", DESCENDING)], name="about"),
        ]
