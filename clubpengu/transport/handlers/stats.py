"""`get_stats`: a player's counters (database value plus what is still batched)."""

from __future__ import annotations

from typing import Any

from clubpengu.realtime.connection import Connection
from clubpengu.services.stats import StatsBatcher
from clubpengu.transport.handlers import require_wallet
from clubpengu.transport.messages import GetStats
from clubpengu.transport.router import Router


def register(router: Router, stats: StatsBatcher) -> None:
    async def get_stats(connection: Connection, message: GetStats) -> dict[str, Any]:
        wallet = require_wallet(connection, "Guests have no stats; sign in with a wallet")
        return {"type": "stats", "stats": await stats.get_stats(wallet)}

    router.add("get_stats", GetStats, get_stats)
