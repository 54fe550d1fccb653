"""Fixtures of the transport tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from clubpengu.config import Settings
from tests.transport.support import Staff, staffed


@pytest.fixture
async def staff(
    settings: Settings, mongo_client: AsyncMongoClient[dict[str, Any]]
) -> AsyncIterator[Staff]:
    """A server with an admin, an analyst and a player signed in over HTTP."""
    async with staffed(settings, mongo_client) as running:
        yield running
