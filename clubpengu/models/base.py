"""Shared model plumbing: camelCase field names in MongoDB, UTC timestamps."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


def _stored_name(name: str) -> str:
    # Beanie maps `id` to `_id` with its own alias generator; ours replaces it, so keep that.
    return "_id" if name == "id" else to_camel(name)


# Documents are read by analysts straight from MongoDB, so stored names follow the seed's
# camelCase (walletAddress, unlockedCosmetics); Python code uses snake_case attributes.
CAMEL = ConfigDict(alias_generator=_stored_name, populate_by_name=True, serialize_by_alias=True)


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """A UTC time as the protocol writes it: ISO-8601 with milliseconds and `Z`."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class CamelModel(BaseModel):
    model_config = CAMEL
