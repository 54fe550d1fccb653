"""The node's periodic checks, for the metrics and the logs.

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

from clubpengu.realtime.ticker import PeriodicTask
from clubpengu.runtime import Runtime
from clubpengu.transport.http import check_health

logger = logging.getLogger(__name__)
HEALTH_CHECK_SECONDS = 15.0
LEDGER_FIRST_CHECK_SECONDS = 60.0


def start_monitors(runtime: Runtime) -> list[PeriodicTask]:
    settings = runtime.settings
    monitors = []
    if runtime.metrics.enabled:

        async def health() -> None:
            await check_health(runtime)

        monitors.append(PeriodicTask("health-check", HEALTH_CHECK_SECONDS, health, first=0.0))
    interval = settings.ledger_verify_interval
    if interval > 0:

        async def ledger() -> None:
            await verify_ledger(runtime)

        first = min(interval, LEDGER_FIRST_CHECK_SECONDS)
        monitors.append(PeriodicTask("ledger-verify", interval, ledger, first=first))
    for monitor in monitors:
        monitor.start()
    return monitors


async def verify_ledger(runtime: Runtime) -> None:
    report = await runtime.economy.verify_ledger()  # sets the ledger gauges
    extra = {"users": report.users, "transactions": report.transactions}
    if report.ok:
        logger.info("ledger verified", extra={**extra, "seconds": round(report.seconds, 3)})
    else:
        logger.error("ledger mismatches", extra={**extra, "mismatches": len(report.mismatches)})
