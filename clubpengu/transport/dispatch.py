"""The dispatch table of one node: every frame type's handler, each handler module given
the services it uses (and nothing else) from the node's parts."""

from __future__ import annotations

import time

from clubpengu.node import Node
from clubpengu.realtime.connection import Connection
from clubpengu.transport.handlers import (
    auth,
    buddies,
    economy,
    matches,
    migration,
    privacy,
    puffles,
    reports,
    room,
    spectators,
    stats,
    world,
)
from clubpengu.transport.limits import LimitsConfig
from clubpengu.transport.messages import Ping
from clubpengu.transport.router import Router


async def _ping(connection: Connection, message: Ping) -> dict[str, object]:
    return {"type": "pong", "ts": int(time.time() * 1000)}


def build_router(node: Node) -> Router:
    settings, metrics = node.settings, node.metrics
    hub, sessions = node.realtime.hub, node.realtime.sessions
    services, spawn = node.services, node.tasks.spawn
    router = Router(
        settings.max_frame_bytes,
        LimitsConfig.from_settings(settings),
        metrics=metrics,
        budget=services.message_budget,
    )
    router.add("ping", Ping, _ping, public=True)
    auth.register(
        router, services.auth, sessions, services.sign_in_limits, metrics, services.connection_log
    )
    world.register(router, services.world, hub, services.connection_log)
    stats.register(router, services.stats, services.leaderboards, services.stamps.catalog)
    economy.register(router, services.shop, services.promos, hub)
    migration.register(router, services.migration, hub)
    puffles.register(router, services.puffles, hub, services.stats)
    matches.register(router, services.challenges, services.matches, hub)
    spectators.register(router, services.matches, hub, sessions, spawn, metrics)
    room.register(router, hub, services.stats, services.stamp_sessions)
    reports.register(router, services.reports, hub)
    db = node.client[settings.mongodb_db]
    privacy.register(router, db, services.exports, services.erasure, spawn)
    buddies.register(router, services.buddies, hub)
    return router
