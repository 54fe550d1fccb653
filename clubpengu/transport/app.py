"""The Starlette app, built by a factory from Settings: routes, lifespan, wiring."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from pymongo import AsyncMongoClient
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route, WebSocketRoute

from clubpengu.config import Settings
from clubpengu.db import EmbeddedDatabase, init_models, make_client
from clubpengu.dbusers import app_login
from clubpengu.games.catalog import GAMES
from clubpengu.metrics import Metrics, make_metrics
from clubpengu.realtime.bus.backends.memory import MemoryBus
from clubpengu.realtime.bus.base import EventBus
from clubpengu.realtime.chat import WordListFilter
from clubpengu.realtime.connection import Connection
from clubpengu.realtime.directory.base import RoomDirectory
from clubpengu.realtime.directory.local import LocalDirectory
from clubpengu.realtime.gcpacer import GcPacer
from clubpengu.realtime.grace import ReconnectGrace
from clubpengu.realtime.hub import Hub
from clubpengu.realtime.owners.base import SessionOwners
from clubpengu.realtime.owners.local import LocalOwners
from clubpengu.realtime.registry import ConnectionRegistry
from clubpengu.realtime.relay import RoomRelay
from clubpengu.realtime.rooms import RoomCatalogue
from clubpengu.realtime.sessions import SessionRegistry
from clubpengu.realtime.ticker import PhasedTick, SlowClientWatchdog
from clubpengu.runtime import Runtime
from clubpengu.services.auth import AuthConfig, AuthService
from clubpengu.services.catalog import load_catalog
from clubpengu.services.challenges import ChallengeService
from clubpengu.services.connection_log import ConnectionLogService
from clubpengu.services.economy import EconomyService
from clubpengu.services.events import EventRecorder
from clubpengu.services.matches import MatchService, Timing
from clubpengu.services.migration import MigrationService
from clubpengu.services.migration_plan import MigrationPlanner
from clubpengu.services.presence import PresenceService
from clubpengu.services.promos import PromoService
from clubpengu.services.puffle_catalog import PuffleCatalog
from clubpengu.services.puffles import PuffleService
from clubpengu.services.ratelimit import RateLimiter
from clubpengu.services.shop import ShopService
from clubpengu.services.stats import StatsBatcher
from clubpengu.transport.handlers import auth as auth_handlers
from clubpengu.transport.handlers import economy as economy_handlers
from clubpengu.transport.handlers import matches as match_handlers
from clubpengu.transport.handlers import migration as migration_handlers
from clubpengu.transport.handlers import puffles as puffle_handlers
from clubpengu.transport.handlers import room as room_handlers
from clubpengu.transport.handlers import spectators
from clubpengu.transport.handlers import stats as stats_handlers
from clubpengu.transport.handlers import world as world_handlers
from clubpengu.transport.http import health
from clubpengu.transport.http_admin import routes as admin_routes
from clubpengu.transport.http_auth import post_challenge, post_verify
from clubpengu.transport.http_metrics import metrics_route
from clubpengu.transport.http_staff import routes as staff_routes
from clubpengu.transport.limits import LimitsConfig
from clubpengu.transport.messages import Ping
from clubpengu.transport.monitors import start_monitors
from clubpengu.transport.outage import OUTAGE_ERRORS, http_unavailable
from clubpengu.transport.pages import routes as page_routes
from clubpengu.transport.router import Router
from clubpengu.transport.security import SecurityHeaders
from clubpengu.transport.socket_access import ExposeSocket
from clubpengu.transport.ws import websocket_endpoint

logger = logging.getLogger(__name__)
SIGN_IN_WINDOW = 60.0  # the AUTH_RATE_* limits are per minute
BACKGROUND_STOP_SECONDS = 2.0
STATS_STOP_SECONDS = 4.0  # the final stats flush must fit in the 10 s shutdown budget


async def _ping(connection: Connection, message: Ping) -> dict[str, object]:
    return {"type": "pong", "ts": int(time.time() * 1000)}


def _bus(settings: Settings, metrics: Metrics) -> tuple[EventBus, SessionOwners]:
    """The in-memory bus and owners for one node; Redis for many (REDIS_URL). redis-py is
    imported only then."""
    if settings.redis_url is None:
        return MemoryBus(), LocalOwners()
    from clubpengu.realtime.bus.backends.redis import RedisBus
    from clubpengu.realtime.owners.redis import RedisOwners

    bus = RedisBus(
        settings.redis_url,
        timeout=settings.redis_timeout,
        reconnect_min=settings.redis_reconnect_min,
        reconnect_max=settings.redis_reconnect_max,
        queue_limit=settings.redis_publish_queue,
        metrics=metrics,
    )
    return bus, RedisOwners(bus)


def _directory(settings: Settings, bus: EventBus, catalogue: RoomCatalogue) -> RoomDirectory:
    """Seats and room members: in this process for one node, in Redis for many."""
    if settings.redis_url is None:
        return LocalDirectory(catalogue, settings.instance_close_grace)
    from clubpengu.realtime.bus.backends.redis import RedisBus
    from clubpengu.realtime.directory.redis import RedisDirectory

    assert isinstance(bus, RedisBus)
    return RedisDirectory(
        bus,
        catalogue,
        settings.node_id,
        close_grace=settings.instance_close_grace,
        node_timeout=settings.node_timeout,
    )


def _watch_directory(runtime: Runtime) -> None:
    """What a shared directory reports: a silent node's players leave their rooms and are
    marked disconnected; this node, taken for dead, shows its players again."""
    directory = runtime.hub.directory
    if not directory.shared:
        return
    from clubpengu.realtime.directory.redis import RedisDirectory

    assert isinstance(directory, RedisDirectory)

    async def reaped(node: str, seats: list[tuple[str, str]]) -> None:
        await runtime.presence.reset_node(node)
        await runtime.hub.forget_players(seats)

    directory.on_reaped = reaped
    directory.on_restored = runtime.hub.reannounce


def _register_handlers(runtime: Runtime) -> None:
    runtime.router.add("ping", Ping, _ping, public=True)
    auth_handlers.register(runtime.router, runtime)
    world_handlers.register(runtime.router, runtime)
    stats_handlers.register(runtime.router, runtime)
    economy_handlers.register(runtime.router, runtime)
    migration_handlers.register(runtime.router, runtime)
    puffle_handlers.register(runtime.router, runtime)
    match_handlers.register(runtime.router, runtime)
    spectators.register(runtime.router, runtime)
    room_handlers.register(runtime.router, runtime)


def _auth_service(settings: Settings, events: EventRecorder, metrics: Metrics) -> AuthService:
    return AuthService(
        AuthConfig(
            domain=settings.auth_domain,
            challenge_ttl=timedelta(seconds=settings.auth_challenge_ttl_seconds),
            jwt_secret=settings.jwt_secret,
            jwt_expiry=timedelta(seconds=settings.jwt_expiry_seconds),
            admin_wallets=settings.admin_wallets,
            analyst_wallets=settings.analyst_wallets,
        ),
        events=events,
        metrics=metrics,
    )


async def _connect(
    settings: Settings, client: AsyncMongoClient[dict[str, Any]] | None, metrics: Metrics
) -> tuple[AsyncMongoClient[dict[str, Any]], EmbeddedDatabase | None]:
    """Connect (starting the embedded database when no MONGODB_URI is set). The metrics'
    command listener is registered on a client made here; a client passed in (tests share
    one) has none, so its commands are not in the MongoDB histogram."""
    if client is not None:
        await init_models(client, settings.mongodb_db)
        return client, None
    embedded = None
    uri = settings.mongodb_uri
    if uri is None:
        embedded = EmbeddedDatabase(
            settings.data_dir, extra_args=["--auth"] if settings.db_auth else []
        )
        uri = embedded.start()
        if settings.db_auth:
            uri = embedded.uri_for(*app_login(settings))
    listener = metrics.command_listener()
    client = make_client(settings, uri, [listener] if listener is not None else [])
    try:
        await init_models(client, settings.mongodb_db)
    except BaseException:
        await client.close()
        if embedded:
            embedded.stop()
        raise
    return client, embedded


async def start_runtime(
    settings: Settings, client: AsyncMongoClient[dict[str, Any]] | None = None
) -> Runtime:
    """Start the embedded database if no MONGODB_URI is set, connect, create indexes, and
    build the node's parts. A `client` passed in (tests share one) is not closed here.
    The catalogues are read first: a bad one stops start-up before anything runs."""
    catalogue = RoomCatalogue.load(settings.rooms_file).with_capacity(settings.room_capacity)
    catalog = load_catalog()
    owns_client = client is None
    metrics = make_metrics(settings.metrics_enabled, settings.node_id, GAMES)
    client, embedded = await _connect(settings, client, metrics)
    bus, owners = _bus(settings, metrics)
    await bus.connect()
    events = EventRecorder(settings.node_id, timedelta(seconds=settings.event_retention_seconds))
    sessions = SessionRegistry(bus, settings.node_id, owners)
    # Pushes (coins, challenges, matches) reach the wallet's live connection on any node.
    push = sessions.push
    economy = EconomyService(
        client,
        settings.mongodb_db,
        daily_bonus_coins=settings.daily_bonus_coins,
        notify=push,
        metrics=metrics,
    )
    matches = MatchService(
        client,
        settings.mongodb_db,
        economy,
        push,
        Timing(
            turn_seconds=settings.match_turn_seconds,
            sweep_interval=settings.match_sweep_interval_seconds,
            abandon_after=settings.match_abandon_after_seconds,
            cache_size=settings.match_cache_size,
        ),
        metrics=metrics,
    )
    hub = Hub(
        catalogue,
        directory=_directory(settings, bus, catalogue),
        chat_filter=WordListFilter(settings.chat_filter_words),
        phases=settings.tick_phases,
        metrics=metrics,
    )
    connections = ConnectionRegistry()
    runtime = Runtime(
        settings=settings,
        client=client,
        router=Router(
            settings.max_frame_bytes, LimitsConfig.from_settings(settings), metrics=metrics
        ),
        bus=bus,
        sessions=sessions,
        hub=hub,
        auth=_auth_service(settings, events, metrics),
        events=events,
        presence=PresenceService(settings.node_id),
        auth_ip_limiter=RateLimiter(settings.auth_rate_per_ip, SIGN_IN_WINDOW),
        auth_conn_limiter=RateLimiter(settings.auth_rate_per_connection, SIGN_IN_WINDOW),
        stats=StatsBatcher.for_database(
            client,
            settings.mongodb_db,
            batching=settings.stats_batching,
            flush_interval=settings.stats_flush_interval_seconds,
            stop_timeout=STATS_STOP_SECONDS,
            metrics=metrics,
        ),
        economy=economy,
        shop=ShopService(client, settings.mongodb_db, economy, catalog),
        promos=PromoService(client, settings.mongodb_db, economy, catalog),
        migration=MigrationService(
            economy,
            MigrationPlanner.for_catalog(
                catalog, max_coins=settings.migration_max_coins, max_puffles=settings.puffle_limit
            ),
        ),
        puffles=PuffleService(
            client,
            settings.mongodb_db,
            economy,
            PuffleCatalog.load(),
            catalog,
            limit=settings.puffle_limit,
        ),
        matches=matches,
        challenges=ChallengeService(
            client,
            settings.mongodb_db,
            economy,
            matches,
            push,
            ttl_seconds=settings.challenge_ttl_seconds,
            max_wager=settings.match_max_wager,
        ),
        push=push,
        relay=RoomRelay(hub, bus, settings.node_id),
        grace=ReconnectGrace(settings.reconnect_grace),
        connection_log=ConnectionLogService(settings.node_id, settings.connection_log_ttl),
        watchdog=SlowClientWatchdog(connections, settings.slow_client_seconds, metrics=metrics),
        connections=connections,
        embedded=embedded,
        owns_client=owns_client,
        metrics=metrics,
    )
    hub.relay = runtime.relay
    _watch_directory(runtime)
    _register_handlers(runtime)
    await runtime.sessions.start()
    events.start()
    runtime.stats.start()
    # Whatever this node left marked connected (it crashed, or was killed) is stale now.
    await runtime.presence.reset_node()
    await hub.directory.start()
    matches.start()
    if settings.tick_rate > 0:
        _start_ticker(runtime)
    runtime.watchdog.task.start()
    _watch(runtime)
    runtime.monitors = start_monitors(runtime)
    return runtime


def _watch(runtime: Runtime) -> None:
    """What /metrics reads from the node's parts when it is scraped."""
    metrics, hub = runtime.metrics, runtime.hub

    def overruns() -> float:
        return runtime.ticker.overruns if runtime.ticker is not None else 0

    metrics.watch_realtime(lambda: len(runtime.connections), lambda: len(hub.rooms), overruns)


def _start_ticker(runtime: Runtime) -> None:
    """The tick loop, spread over the hub's phases, with the full garbage collections
    placed right after a whole tick. With many nodes each room's movers are cut
    TICK_LEAD before its batch is sent (realtime/ticker.py PhasedTick), so every node's
    movers make the same tick's batch."""
    pacer = runtime.gc_pacer = GcPacer()
    settings = runtime.settings
    lead = settings.tick_lead if settings.redis_url is not None else 0.0
    pacer.start()
    runtime.ticker = PhasedTick(
        runtime.hub, settings.tick_rate, lead, pacer.after_tick, metrics=runtime.metrics
    )
    runtime.ticker.start()


async def stop_runtime(runtime: Runtime) -> None:
    """Close every socket with 1001 (each records its leave: room, position, presence),
    end the reconnect graces the same way, flush the connection log, then disconnect."""
    runtime.shutting_down = True
    await runtime.matches.stop()
    await runtime.connections.close_all(1001, "server shutting down")
    await runtime.grace.expire_all()
    if runtime.ticker is not None:
        await runtime.ticker.stop()
    if runtime.gc_pacer is not None:
        runtime.gc_pacer.stop()
    await runtime.watchdog.task.stop()
    for monitor in runtime.monitors:
        await monitor.stop()
    await runtime.relay.stop()
    await runtime.hub.directory.stop()
    await runtime.connection_log.flush()
    await runtime.sessions.stop()
    await runtime.drain_tasks(within=BACKGROUND_STOP_SECONDS)
    await runtime.events.stop()
    # After the sockets closed (their last counters are queued), before the client closes.
    await runtime.stats.stop()
    await runtime.bus.disconnect()
    if runtime.owns_client:
        await runtime.client.close()
    if runtime.embedded is not None:
        runtime.embedded.stop()


def build_app(
    settings: Settings, client: AsyncMongoClient[dict[str, Any]] | None = None
) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        runtime = await start_runtime(settings, client)
        app.state.runtime = runtime
        logger.info("node started", extra={"node": settings.node_id})
        try:
            yield
        finally:
            await stop_runtime(runtime)
            logger.info("node stopped", extra={"node": settings.node_id})

    routes = [
        Route("/health", health, methods=["GET"]),
        *metrics_route(settings),
        Route("/auth/challenge", post_challenge, methods=["POST"]),
        Route("/auth/verify", post_verify, methods=["POST"]),
        WebSocketRoute("/ws", websocket_endpoint),
        *admin_routes(),
        *staff_routes(),
        *page_routes(),
    ]
    middleware = [Middleware(SecurityHeaders), Middleware(ExposeSocket)]
    # A database out of reach is a 503 `unavailable` on every HTTP route, not a bare 500.
    handlers = dict.fromkeys(OUTAGE_ERRORS, http_unavailable)
    return Starlette(
        routes=routes, lifespan=lifespan, middleware=middleware, exception_handlers=handlers
    )
