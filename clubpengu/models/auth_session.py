"""AuthSession: one per issued JWT; revocation and expiry live here."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from beanie import Document, Indexed
from pydantic import Field
from pymongo import ASCENDING, IndexModel

from clubpengu.models.base import CAMEL, utcnow


class AuthSession(Document):
    """The server side of a JWT: the token's `sid` claim is this document's id.

    A token is valid only while its session exists and `revoked_at` is unset; MongoDB's TTL
    monitor deletes the session when `expires_at` (the token's `exp`) passes, so an old
    session cannot be revived. `ip_hash` is salted, never the raw address.
    """

    model_config = CAMEL

    wallet_address: Annotated[str, Indexed()]
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    revoked_at: datetime | None = None
    revoked_reason: str | None = None
    role: str | None = None
    ip_hash: str | None = None
    user_agent: str | None = None

    class Settings:
        name = "auth_sessions"
        indexes = [IndexModel([("expiresAt", ASCENDING)], expireAfterSeconds=0, name="ttl")]
