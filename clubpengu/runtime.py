"""Everything one node builds at start-up and hands down: settings, the database client,
live connections and the dispatch table. Created in the app's lifespan (transport/app.py);
later parts of the server hang their services here."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from pymongo import AsyncMongoClient

from clubpengu.config import Settings
from clubpengu.db import EmbeddedDatabase
from clubpengu.logs import share_connection
from clubpengu.metrics import Metrics
from clubpengu.realtime.bus.base import EventBus
from clubpengu.realtime.gcpacer import GcPacer
from clubpengu.realtime.grace import ReconnectGrace
from clubpengu.realtime.hub import Hub
from clubpengu.realtime.registry import ConnectionRegistry
from clubpengu.realtime.relay import RoomRelay
from clubpengu.realtime.sessions import SessionRegistry
from clubpengu.realtime.ticker import PeriodicTask, PhasedTick, SlowClientWatchdog
from clubpengu.services.auth import AuthService
from clubpengu.services.challenges import ChallengeService
from clubpengu.services.connection_log import ConnectionLogService
from clubpengu.services.economy import EconomyService
from clubpengu.services.events import EventRecorder
from clubpengu.services.matches import MatchService
from clubpengu.services.migration import MigrationService
from clubpengu.services.presence import PresenceService
from clubpengu.services.promos import PromoService
from clubpengu.services.puffles import PuffleService
from clubpengu.services.ratelimit import RateLimiter
from clubpengu.services.shop import ShopService
from clubpengu.services.stats import StatsBatcher
from clubpengu.transport.router import Router

logger = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    client: AsyncMongoClient[dict[str, Any]]
    router: Router
    bus: EventBus
    sessions: SessionRegistry
    hub: Hub
    auth: AuthService
    presence: PresenceService
    auth_ip_limiter: RateLimiter
    auth_conn_limiter: RateLimiter
    events: EventRecorder
    stats: StatsBatcher
    economy: EconomyService
    shop: ShopService
    promos: PromoService
    migration: MigrationService
    puffles: PuffleService
    matches: MatchService
    challenges: ChallengeService
    # Deliver a frame to a wallet's live connection, on this node or on its owner's.
    push: Callable[[str, dict[str, Any]], None]
    relay: RoomRelay
    grace: ReconnectGrace
    connection_log: ConnectionLogService
    watchdog: SlowClientWatchdog
    ticker: PhasedTick | None = None  # None when tick_rate is 0 (tests tick)
    monitors: list[PeriodicTask] = field(default_factory=list)  # health and ledger checks
    gc_pacer: GcPacer | None = None  # with the ticker
    embedded: EmbeddedDatabase | None = None
    connections: ConnectionRegistry = field(default_factory=ConnectionRegistry)
    metrics: Metrics = field(default_factory=Metrics)  # records nothing unless METRICS_ENABLED
    started_at: float = field(default_factory=time.monotonic)
    shutting_down: bool = False
    owns_client: bool = True

    tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    def spawn(self, work: Coroutine[Any, Any, Any], name: str) -> None:
        """Run `work` in the background; shutdown waits for it. Failures are logged."""
        task = asyncio.create_task(work, name=name)
        share_connection(task)  # its log lines name the connection it was started for
        self.tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("background task failed", exc_info=task.exception())

    async def drain_tasks(self, within: float) -> None:
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=within)

    @property
    def uptime(self) -> float:
        return time.monotonic() - self.started_at
