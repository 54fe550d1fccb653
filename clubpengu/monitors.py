"""The node's health, and its periodic checks for the metrics and the logs.

- `HealthCheck`: the database answers a ping, Redis (with many nodes) is reachable, and
  the node is not shutting down. `/health` asks it on every request; it also sets the
  metrics' health gauges.
- Health, every HEALTH_CHECK_SECONDS (with METRICS_ENABLED): the same check as /health,
  so `clubpengu_health_status` and `clubpengu_database_up` are fresh even when nothing
  polls /health (HAProxy does, every 5 s, in compose; a bare node has nobody).
- The ledger, every LEDGER_VERIFY_INTERVAL (0: never), the first time a minute after
  start-up (or sooner, with a shorter interval): `verify_ledger` sets
  `clubpengu_ledger_mismatches` and `clubpengu_ledger_verified_timestamp_seconds`, and a
  mismatch is logged as an error. It reads every user and entry (0.16 s per 10,000
  entries on the embedded database), once per node per interval.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import pymongo
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from clubpengu.background import PeriodicTask
from clubpengu.metrics import Metrics
from clubpengu.realtime.bus.base import EventBus
from clubpengu.realtime.registry import ConnectionRegistry
from clubpengu.services.economy import EconomyService

logger = logging.getLogger(__name__)
HEALTH_CHECK_SECONDS = 15.0
LEDGER_FIRST_CHECK_SECONDS = 60.0
HEALTH_DB_TIMEOUT = 1.5


class HealthCheck:
    """Whether the node is healthy, and the /health body."""

    def __init__(
        self,
        node_id: str,
        client: AsyncMongoClient[dict[str, Any]],
        bus: EventBus | None,
        connections: ConnectionRegistry,
        metrics: Metrics,
    ) -> None:
        self.node_id = node_id
        self.client = client
        self.bus = bus  # None with one node (no REDIS_URL)
        self.connections = connections
        self.metrics = metrics
        self.started_at = time.monotonic()

    @property
    def uptime(self) -> float:
        return time.monotonic() - self.started_at

    async def _database(self) -> str:
        try:
            with pymongo.timeout(HEALTH_DB_TIMEOUT):
                await self.client.admin.command("ping")
        except PyMongoError:
            return "error"
        return "ok"

    async def _redis(self) -> str:
        """`disabled` with one node; else whether other nodes can be reached. Without
        Redis the node still serves its own players, but reports itself degraded."""
        if self.bus is None:
            return "disabled"
        return "ok" if await self.bus.healthy() else "error"

    async def check(self) -> tuple[bool, dict[str, Any]]:
        """Whether the node is healthy, and the /health body; sets the health gauges."""
        database = await self._database()
        redis = await self._redis()
        healthy = database == "ok" and redis in {"ok", "disabled"} and not self.connections.closing
        self.metrics.health(healthy, database == "ok")
        body = {
            "status": "healthy" if healthy else "degraded",
            "database": database,
            "redis": redis,
            "connections": len(self.connections),
            "uptime": round(self.uptime, 3),
            "node": self.node_id,
        }
        return healthy, body


def start_monitors(
    health: HealthCheck, economy: EconomyService, metrics: Metrics, ledger_interval: float
) -> list[PeriodicTask]:
    """Start the periodic checks; the node stops them on shutdown."""
    monitors = []
    if metrics.enabled:

        async def check_health() -> None:
            await health.check()

        monitors.append(PeriodicTask("health-check", HEALTH_CHECK_SECONDS, check_health, first=0.0))
    if ledger_interval > 0:

        async def ledger() -> None:
            await verify_ledger(economy)

        first = min(ledger_interval, LEDGER_FIRST_CHECK_SECONDS)
        monitors.append(PeriodicTask("ledger-verify", ledger_interval, ledger, first=first))
    for monitor in monitors:
        monitor.start()
    return monitors


async def verify_ledger(economy: EconomyService) -> None:
    report = await economy.verify_ledger()  # sets the ledger gauges
    extra = {"users": report.users, "transactions": report.transactions}
    if report.ok:
        logger.info("ledger verified", extra={**extra, "seconds": round(report.seconds, 3)})
    else:
        logger.error("ledger mismatches", extra={**extra, "mismatches": len(report.mismatches)})
