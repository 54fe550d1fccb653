"""`get_stats`: a player's counters (database value plus what is still batched)."""

from __future__ import annotations

from typing import Any

from clubpengu.errors import Forbidden
from clubpengu.realtime.connection import Connection
from clubpengu.runtime import Runtime
from clubpengu.transport.messages import GetStats
from clubpengu.transport.router import Router


def register(router: Router, runtime: Runtime) -> None:
    async def get_stats(connection: Connection, message: GetStats) -> dict[str, Any]:
        if connection.wallet is None:
            raise Forbidden("Guests have no stats; sign in with a wallet")
        return {"type": "stats", "stats": await runtime.stats.get_stats(connection.wallet)}

    router.add("get_stats", GetStats, get_stats)
