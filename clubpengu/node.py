"""One node of the server, built from Settings: the composition root.

As uvicorn splits `Config` from `Server`, Settings say what a node is and this module
makes it: `build_node` builds every part once — the database (embedded, or MONGODB_URI),
the event bus, the room directory, the hub, the services — and hands each part to what
needs it; `Node.start` starts them in order and `Node.stop` stops them in the order that
loses nothing (sockets closed first, their last counters flushed at once, the database
last), under one deadline, so that the whole fits in the 10 s shutdown.

Nothing here knows the web framework or the wire: the transport hands in how a notice
looks on the wire (`render`), and builds its router and handlers from the node's parts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from pymongo import AsyncMongoClient

from clubpengu.background import PeriodicTask, TrackedTasks
from clubpengu.config import Settings
from clubpengu.db import EmbeddedDatabase, init_models, make_client
from clubpengu.dbusers import app_login
from clubpengu.games.catalog import GAMES
from clubpengu.logs import share_connection
from clubpengu.metrics import Metrics, make_metrics
from clubpengu.models.base import utcnow
from clubpengu.monitors import HealthCheck, start_monitors
from clubpengu.parts import Clock, Realtime, Services, build_realtime, build_services
from clubpengu.realtime.gcpacer import GcPacer
from clubpengu.realtime.rooms import RoomCatalogue
from clubpengu.realtime.ticker import PhasedTick
from clubpengu.services.catalog import load_catalog
from clubpengu.services.message_budget import SYNC_INTERVAL
from clubpengu.services.notices import Notice
from clubpengu.services.outside_notices import OutsideNotices

logger = logging.getLogger(__name__)
BACKGROUND_STOP_SECONDS = 2.0
# The whole shutdown, from SIGTERM to the process's exit (what an orchestrator waits
# before it kills), less a margin for the process's own exit after the node's stop.
SHUTDOWN_SECONDS = 10.0
SHUTDOWN_MARGIN = 0.5
# Kept for the steps after the final stats flush: the embedded database's own stop
# (tens of milliseconds when idle, `EmbeddedDatabase.stop`; it closes its storage, and is
# killed when that overruns: what it journaled is kept) and a little for the others.
DATABASE_STOP_SECONDS = 1.5
AFTER_STATS_SECONDS = DATABASE_STOP_SECONDS + 0.5
# What a step gets at least, even past the deadline: enough for one with nothing left to
# write to finish (a dozen of them fit in what the database is kept).
MIN_STEP_SECONDS = 0.05
# How a notice looks on the wire (the transport's renderer): a frame for one wallet.
Render = Callable[[Notice], dict[str, Any]]
Client = AsyncMongoClient[dict[str, Any]]


@dataclass
class Database:
    """The node's one client, and the embedded database it started (if it did). A client
    handed in (tests share one) is not closed here."""

    client: Client
    embedded: EmbeddedDatabase | None = None
    owns_client: bool = True

    async def close(self, within: float = 10.0) -> None:
        """Close the client, and stop the embedded database within `within` seconds (then
        it is killed: what it acknowledged with the journal is kept)."""
        if self.owns_client:
            await self.client.close()
        if self.embedded is not None:
            self.embedded.stop(within)


async def connect(settings: Settings, client: Client | None, metrics: Metrics) -> Database:
    """Connect (starting the embedded database when no MONGODB_URI is set) and create the
    indexes. The metrics' command listener is registered on a client made here; a client
    passed in has none, so its commands are not in the MongoDB histogram."""
    if client is not None:
        await init_models(client, settings.mongodb_db)
        return Database(client, owns_client=False)
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
    database = Database(make_client(settings, uri, [listener] if listener is not None else []))
    database.embedded = embedded
    try:
        await init_models(database.client, settings.mongodb_db)
    except BaseException:
        await database.close()
        raise
    return database


class BackgroundTasks(TrackedTasks):
    """Work started on the side of a request (the daily bonus after a join, a match shown
    to a room): shutdown waits for it; failures are logged. Its log lines name the
    connection it was started for."""

    def spawn(self, work: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = super().spawn(work, name)
        share_connection(task)
        return task


@dataclass
class Node:
    """Everything one node runs, built by `build_node`. The transport's wiring
    (transport/dispatch.py, ws.py's `Sockets`) hands each handler the parts it uses, and
    an HTTP route reads from here only the parts it serves."""

    settings: Settings
    metrics: Metrics
    database: Database
    realtime: Realtime
    services: Services
    tasks: BackgroundTasks
    health: HealthCheck
    # Balances changed outside every node (the CLI), told to this node's players.
    outside_notices: OutsideNotices
    ticker: PhasedTick | None = None  # None when tick_rate is 0 (tests tick)
    gc_pacer: GcPacer | None = None  # with the ticker
    monitors: list[PeriodicTask] = field(default_factory=list)  # health and ledger checks
    # When the node's stop must be done by (the event loop's clock), set when the
    # shutdown begins (`begin_stop`), which may be before `stop` runs: `clubpengu serve`
    # first closes the sockets and waits for their tasks.
    stop_deadline: float | None = None

    @property
    def client(self) -> Client:
        return self.database.client

    @property
    def shutting_down(self) -> bool:
        return self.realtime.connections.closing

    @shutting_down.setter
    def shutting_down(self, value: bool) -> None:
        self.realtime.connections.closing = value

    async def start(self) -> None:
        """Start every part, in order. Whatever this node left marked connected (it
        crashed, or was killed) is stale by now, so presence is reset before anyone joins.
        On failure the database is closed and the error raised."""
        try:
            await self._start()
        except BaseException:
            await self.database.close()
            raise

    async def _start(self) -> None:
        realtime, services = self.realtime, self.services
        await realtime.bus.connect()
        await realtime.sessions.start()
        self.outside_notices.start()
        await services.buddy_presence.start()
        services.events.start()
        services.chat_log.start()
        services.stats.start()
        await services.presence.reset_node()
        await services.connection_log.close_left_open()
        await realtime.hub.directory.start()
        services.matches.start()
        if self.settings.tick_rate > 0:
            self._start_ticker()
        realtime.watchdog.task.start()
        self._watch()
        self.monitors = start_monitors(
            self.health, services.economy, self.metrics, self.settings.ledger_verify_interval
        )
        erasures = PeriodicTask(
            "erasure-sweep", self.settings.erasure_sweep_interval, services.erasure.sweep
        )
        erasures.start()
        self.monitors.append(erasures)
        aftermath = PeriodicTask(
            "match-aftermath", self.settings.match_sweep_interval_seconds, services.aftermath.sweep
        )
        aftermath.start()
        self.monitors.append(aftermath)
        self._count_addresses()
        self._share_message_counts()

    def _start_ticker(self) -> None:
        """The tick loop, spread over the hub's phases, with the full garbage collections
        placed right after a whole tick. With many nodes each room's movers are cut
        TICK_LEAD before its batch is sent (realtime/ticker.py PhasedTick), so every node's
        movers make the same tick's batch."""
        pacer = self.gc_pacer = GcPacer()
        settings = self.settings
        lead = settings.tick_lead if settings.redis_url is not None else 0.0
        pacer.start()
        self.ticker = PhasedTick(
            self.realtime.hub, settings.tick_rate, lead, pacer.after_tick, metrics=self.metrics
        )
        self.ticker.start()

    def _count_addresses(self) -> None:
        """With counts shared by the nodes, keep this node's from lapsing."""
        admission = self.realtime.admission
        if admission.shared is None or admission.per_address <= 0:
            return
        from clubpengu.realtime.counters.redis import COUNT_LAPSE

        task = PeriodicTask("address-counts", COUNT_LAPSE / 3, admission.refresh)
        task.start()
        self.monitors.append(task)

    def _share_message_counts(self) -> None:
        """With counts shared by the nodes, report this node's messages per address."""
        budget = self.services.message_budget
        if budget.shared is None:
            return
        task = PeriodicTask("message-counts", SYNC_INTERVAL, budget.sync)
        task.start()
        self.monitors.append(task)

    def _watch(self) -> None:
        """What /metrics reads from the node's parts when it is scraped."""
        connections, hub = self.realtime.connections, self.realtime.hub

        def overruns() -> float:
            return self.ticker.overruns if self.ticker is not None else 0

        self.metrics.watch_realtime(lambda: len(connections), lambda: len(hub.rooms), overruns)

    def begin_stop(self) -> None:
        """The shutdown begins now: no new socket is taken, and the node's stop must be
        done within SHUTDOWN_SECONDS (less SHUTDOWN_MARGIN) from now, whatever comes
        before it."""
        self.shutting_down = True
        self.services.connection_log.begin_stop()
        if self.stop_deadline is None:
            now = asyncio.get_running_loop().time()
            self.stop_deadline = now + SHUTDOWN_SECONDS - SHUTDOWN_MARGIN

    async def stop(self) -> None:
        """Close every socket with 1001 (each records its leave: room, position, presence),
        end the reconnect graces the same way, write the final stats flush, then the rest,
        and disconnect. One deadline for all of it (`begin_stop`): each step gets what is
        left of it, less what the steps after it are kept (AFTER_STATS_SECONDS after the
        stats, DATABASE_STOP_SECONDS before the database), so a slow step shortens the
        ones after it instead of adding to them. A step cut off is logged (warning), one
        that fails is logged (error) and the stop goes on, and each step is logged (debug,
        `step`) as it begins."""
        self.begin_stop()
        assert self.stop_deadline is not None
        loop = asyncio.get_running_loop()
        for name, step, kept in self._shutdown():
            seconds = max(self.stop_deadline - loop.time() - kept, MIN_STEP_SECONDS)
            logger.debug("stopping", extra={"step": name, "seconds": round(seconds, 2)})
            try:
                await step(seconds)
            except TimeoutError:
                logger.warning("shutdown step cut off", extra={"step": name})
            except Exception:
                # A bug in one step must not keep the steps after it (the database's
                # close last) from running: logged, and the stop goes on.
                logger.exception("shutdown step failed", extra={"step": name})

    def _shutdown(self) -> list[tuple[str, Callable[[float], Awaitable[object]], float]]:
        """The stop's steps, in order: (name, the step given its seconds, the seconds kept
        for the steps after it). The final stats flush comes right after the sockets and
        graces (whose leaves queue the last counters, and where each player stood: a leave
        at shutdown writes nothing of its own, services/presence.py), before anything else
        that may wait for the database: its counters are what a restart would otherwise
        lose. Then the one command that marks every player of the node gone: after the
        flush, so that it does not compete with the flush a SIGTERM may land in (and if it
        is cut off, the node's next start marks them gone: PresenceService.reset_node)."""
        realtime, services = self.realtime, self.services
        after_stats = AFTER_STATS_SECONDS

        async def loops() -> None:
            if self.ticker is not None:
                await self.ticker.stop()
            if self.gc_pacer is not None:
                self.gc_pacer.stop()
            await realtime.watchdog.task.stop()
            for monitor in self.monitors:
                await monitor.stop()

        def bounded(
            work: Callable[[], Awaitable[object]],
        ) -> Callable[[float], Awaitable[object]]:
            async def step(seconds: float) -> object:
                async with asyncio.timeout(seconds):
                    return await work()

            return step

        async def database(seconds: float) -> None:
            await self.database.close(max(seconds, 1.0))

        return [
            (
                "sockets",
                bounded(lambda: realtime.connections.close_all(1001, "server shutting down")),
                after_stats,
            ),
            ("graces", bounded(realtime.grace.expire_all), after_stats),
            ("stats", services.stats.stop, after_stats),
            ("presence", bounded(services.presence.leave_all), DATABASE_STOP_SECONDS),
            ("matches", bounded(services.matches.stop), DATABASE_STOP_SECONDS),
            ("loops", bounded(loops), DATABASE_STOP_SECONDS),
            ("relay", bounded(realtime.relay.stop), DATABASE_STOP_SECONDS),
            ("directory", bounded(realtime.hub.directory.stop), DATABASE_STOP_SECONDS),
            ("connection-log", bounded(services.connection_log.flush), DATABASE_STOP_SECONDS),
            ("sessions", bounded(realtime.sessions.stop), DATABASE_STOP_SECONDS),
            ("outside-notices", bounded(self.outside_notices.stop), DATABASE_STOP_SECONDS),
            ("buddies", bounded(services.buddy_presence.stop), DATABASE_STOP_SECONDS),
            (
                "background",
                lambda seconds: self.tasks.wait(within=min(seconds, BACKGROUND_STOP_SECONDS)),
                DATABASE_STOP_SECONDS,
            ),
            ("events", bounded(services.events.stop), DATABASE_STOP_SECONDS),
            ("chat-log", bounded(services.chat_log.stop), DATABASE_STOP_SECONDS),
            ("bus", bounded(realtime.bus.disconnect), DATABASE_STOP_SECONDS),
            ("database", database, 0.0),
        ]


async def build_node(
    settings: Settings, client: Client | None = None, *, render: Render, clock: Clock = utcnow
) -> Node:
    """Build one node from `settings`: read the catalogues (a bad one stops start-up before
    anything runs), connect to the database (starting the embedded one when no
    MONGODB_URI is set), and build every part once. Nothing runs until `Node.start`.
    `clock` is what the services ask for the time: the wall clock but in tests and the
    farm simulation (scripts/farm_sim.py), which move their own through simulated days."""
    catalogue = RoomCatalogue.load(settings.rooms_file).with_capacity(settings.room_capacity)
    catalog = load_catalog()
    metrics = make_metrics(settings.metrics_enabled, settings.node_id, GAMES)
    database = await connect(settings, client, metrics)
    realtime = build_realtime(settings, catalogue, metrics)
    tasks = BackgroundTasks()
    sessions = realtime.sessions

    def notify(wallet: str, notice: Notice) -> None:
        # Reaches the wallet's live connection on any node.
        sessions.push(wallet, render(notice))

    services = build_services(
        settings, database.client, realtime, catalog, metrics, notify, tasks.spawn, clock
    )
    health = HealthCheck(
        settings.node_id,
        database.client,
        realtime.bus if settings.redis_url is not None else None,
        realtime.connections,
        metrics,
    )
    outside_notices = OutsideNotices(
        database.client[settings.mongodb_db],
        lambda wallet: bool(sessions.live(wallet)),
        lambda wallet, notice: sessions.push_here(wallet, render(notice)),
    )  # the wall clock, not `clock`: the notices are stamped by other processes' clocks
    return Node(settings, metrics, database, realtime, services, tasks, health, outside_notices)
