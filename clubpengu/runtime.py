"""Everything one node builds at start-up and hands down: settings, the database client,
live connections and the dispatch table. Created in the app's lifespan (transport/app.py);
later parts of the server hang their services here."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from pymongo import AsyncMongoClient

from clubpengu.config import Settings
from clubpengu.db import EmbeddedDatabase
from clubpengu.realtime.bus.base import EventBus
from clubpengu.realtime.gcpacer import GcPacer
from clubpengu.realtime.grace import ReconnectGrace
from clubpengu.realtime.hub import Hub
from clubpengu.realtime.registry import ConnectionRegistry
from clubpengu.realtime.relay import RoomRelay
from clubpengu.realtime.sessions import SessionRegistry
from clubpengu.realtime.ticker import PeriodicTask, SlowClientWatchdog
from clubpengu.services.auth import AuthService
from clubpengu.services.connection_log import ConnectionLogService
from clubpengu.services.presence import PresenceService
from clubpengu.services.ratelimit import RateLimiter
from clubpengu.transport.router import Router


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
    relay: RoomRelay
    grace: ReconnectGrace
    connection_log: ConnectionLogService
    watchdog: SlowClientWatchdog
    ticker: PeriodicTask | None = None  # None when tick_rate is 0: tests call tick_once
    gc_pacer: GcPacer | None = None  # with the ticker
    embedded: EmbeddedDatabase | None = None
    connections: ConnectionRegistry = field(default_factory=ConnectionRegistry)
    started_at: float = field(default_factory=time.monotonic)
    shutting_down: bool = False
    owns_client: bool = True

    @property
    def uptime(self) -> float:
        return time.monotonic() - self.started_at
