"""The recorder that records: Prometheus metrics on a registry of its own (one per app,
never prometheus_client's global one, so several apps in one process, as in the tests, do
not collide). Names and meanings: docs/observability.md#metrics.

Values the server already keeps (connections, rooms, tick overruns, pending stats
counters, Redis state) are read through callbacks when /metrics is scraped (`watch_*`),
so they cost nothing between scrapes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from pymongo import monitoring

from clubpengu.metrics.recorder import (
    FORFEIT_REASONS,
    MESSAGE_TYPES,
    MONGODB_COMMANDS,
    OTHER,
    UNKNOWN,
    Metrics,
    Reading,
    frame_type,
)

CONTENT_TYPE = CONTENT_TYPE_LATEST
TICK_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25)
BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500)
# Fine enough for p50/p95/p99 from 0.5 ms to 2 s (histogram_quantile interpolates
# within a bucket, so the error is at most one bucket's width, about 1.5x here).
MONGODB_BUCKETS = (
    0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03,
    0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 5.0,
)  # fmt: skip
REDIS_BUCKETS = (0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0)
FLUSH_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class _Readings(Collector):
    """Gauges and counters whose value the server already keeps, read at scrape time. A
    reading not bound yet (Redis on a node without REDIS_URL) is exported with no sample."""

    def __init__(self) -> None:
        self._kinds: dict[str, tuple[type[GaugeMetricFamily | CounterMetricFamily], str]] = {}
        self._reads: dict[str, Reading] = {}
        self._values: dict[str, float] = {}  # the readings of the scrape being built

    def gauge(self, name: str, documentation: str) -> None:
        self._kinds[name] = (GaugeMetricFamily, documentation)

    def counter(self, name: str, documentation: str) -> None:
        self._kinds[name] = (CounterMetricFamily, documentation)

    def bind(self, name: str, read: Reading) -> None:
        assert name in self._kinds, name
        self._reads[name] = read

    def refresh(self) -> None:
        """Take the readings now (on the event loop: they read the server's structures)."""
        self._values = {name: float(read()) for name, read in self._reads.items()}

    def collect(self) -> Iterable[Metric]:
        for name, (kind, documentation) in self._kinds.items():
            family = kind(name, documentation)
            value = self._values.get(name)
            if value is not None:
                family.add_metric([], value)
            yield family

    def describe(self) -> Iterable[Metric]:
        return []  # not collected at registration: the readings are bound later


class _CommandListener(monitoring.CommandListener):
    """MongoDB command latency and failures, by command name (the driver calls these
    synchronously; `duration_micros` is measured by the driver)."""

    def __init__(self, duration: Histogram, failures: Counter) -> None:
        self._duration = duration
        self._failures = failures

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        pass

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        self._duration.labels(_command(event.command_name)).observe(event.duration_micros / 1e6)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        command = _command(event.command_name)
        self._duration.labels(command).observe(event.duration_micros / 1e6)
        self._failures.labels(command).inc()


def _command(name: str) -> str:
    return name if name in MONGODB_COMMANDS else OTHER


class PrometheusMetrics(Metrics):
    """Records into its own registry; see the module docstring for the names."""

    enabled = True

    def __init__(self, node_id: str, games: Iterable[str] = ()) -> None:
        # No `_created` series beside every counter and histogram: they would double the
        # exposition, and Prometheus needs none (a process-wide switch of the library).
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = registry = CollectorRegistry()
        self._readings = _Readings()
        registry.register(self._readings)
        ProcessCollector(registry=registry)  # process_cpu_seconds_total, …_resident_memory_bytes
        Gauge("clubpengu_node_info", "This node (always 1)", ["node"], registry=registry).labels(
            node_id
        ).set(1)
        self._realtime(registry)
        self._business(registry, games)
        self._dependencies(registry)

    def _realtime(self, registry: CollectorRegistry) -> None:
        self._in = Counter(
            "clubpengu_messages_in_total", "Frames read from clients, by type", ["type"],
            registry=registry,
        )  # fmt: skip
        self._out = Counter(
            "clubpengu_messages_out_total", "Frames queued for clients, by type", ["type"],
            registry=registry,
        )  # fmt: skip
        # Each type's child is made on first use and kept: the hot paths then cost a dict
        # lookup and an increment, and types never sent make no series.
        self._in_by_type: dict[str, Counter] = {}
        self._out_by_type: dict[str, Counter] = {}
        self._tick = Histogram(
            "clubpengu_tick_duration_seconds", "Time of one step of the phased movement tick",
            buckets=TICK_BUCKETS, registry=registry,
        )  # fmt: skip
        self._batch = Histogram(
            "clubpengu_tick_batch_size", "Movers in one room's moves batch",
            buckets=BATCH_BUCKETS, registry=registry,
        )  # fmt: skip
        self._dropped = Counter(
            "clubpengu_outgoing_dropped_total",
            "moves batches superseded in a slow client's queue (replaced by a snapshot)",
            registry=registry,
        )
        self._slow = Counter(
            "clubpengu_slow_client_closes_total",
            "Connections closed with 1008 for not keeping up with their outgoing queue",
            registry=registry,
        )
        self._limited = Counter(
            "clubpengu_rate_limited_total", "Messages refused by a per-connection rate limit",
            registry=registry,
        )  # fmt: skip
        self._abandoned = Counter(
            "clubpengu_requests_abandoned_total",
            "Requests dropped unhandled because the client had closed its socket",
            registry=registry,
        )
        readings = self._readings
        readings.gauge("clubpengu_websocket_connections", "Open WebSockets")
        readings.gauge(
            "clubpengu_rooms_active", "Room instances with at least one member on this node"
        )
        readings.counter("clubpengu_tick_overruns", "Tick steps that came late and were caught up")

    def _business(self, registry: CollectorRegistry, games: Iterable[str]) -> None:
        self._signins = Counter(
            "clubpengu_signins_total", "Sign-in attempts by result (ok or the failure code)",
            ["result"], registry=registry,
        )  # fmt: skip
        self._coins = Counter(
            "clubpengu_coins_total",
            "Coins moved by committed ledger entries, by transaction type (absolute amounts)",
            ["type"], registry=registry,
        )  # fmt: skip
        self._economy_errors = Counter(
            "clubpengu_economy_errors_total", "Economy operations refused, by error code",
            ["code"], registry=registry,
        )  # fmt: skip
        self._started = Counter(
            "clubpengu_matches_started_total", "Matches started, by game", ["game"],
            registry=registry,
        )  # fmt: skip
        self._completed = Counter(
            "clubpengu_matches_completed_total", "Matches settled (any reason), by game",
            ["game"], registry=registry,
        )  # fmt: skip
        self._forfeited = Counter(
            "clubpengu_matches_forfeited_total",
            "Matches settled by a forfeit, a disconnect, a turn timeout or the sweeper, by game",
            ["game"], registry=registry,
        )  # fmt: skip
        for game in games:  # zero from the start, so rates exist before the first match
            for family in (self._started, self._completed, self._forfeited):
                family.labels(game)
        self._mismatches = Gauge(
            "clubpengu_ledger_mismatches", "Mismatches found by the last ledger verification",
            registry=registry,
        )  # fmt: skip
        self._verified = Gauge(
            "clubpengu_ledger_verified_timestamp_seconds",
            "When this node last verified the ledger (Unix time; 0: not yet)",
            registry=registry,
        )
        self._flush = Histogram(
            "clubpengu_stats_flush_duration_seconds", "Time of one stats flush",
            buckets=FLUSH_BUCKETS, registry=registry,
        )  # fmt: skip
        self._flush_failures = Counter(
            "clubpengu_stats_flush_failures_total",
            "Stats flushes that kept counters for a retry", registry=registry,
        )  # fmt: skip
        self._readings.gauge(
            "clubpengu_stats_pending_counters", "Stat counters (player, path) not written yet"
        )

    def _dependencies(self, registry: CollectorRegistry) -> None:
        self._health = Gauge(
            "clubpengu_health_status", "1 healthy, 0 degraded (as /health)", registry=registry
        )
        self._database_up = Gauge(
            "clubpengu_database_up", "1 when the database answered the last ping",
            registry=registry,
        )  # fmt: skip
        self._mongo_duration = Histogram(
            "clubpengu_mongodb_command_duration_seconds", "MongoDB command latency, by command",
            ["command"], buckets=MONGODB_BUCKETS, registry=registry,
        )  # fmt: skip
        self._mongo_failures = Counter(
            "clubpengu_mongodb_command_failures_total", "MongoDB commands that failed, by command",
            ["command"], registry=registry,
        )  # fmt: skip
        self._listener = _CommandListener(self._mongo_duration, self._mongo_failures)
        self._redis_publish = Histogram(
            "clubpengu_redis_publish_duration_seconds",
            "Time of one pipeline of queued Redis publications (one round trip)",
            buckets=REDIS_BUCKETS, registry=registry,
        )  # fmt: skip
        self._readings.gauge("clubpengu_redis_up", "1 while the Redis bus is connected")
        self._readings.counter(
            "clubpengu_redis_reconnects", "Times the Redis bus reconnected after losing Redis"
        )

    # --- recording ---------------------------------------------------------------------

    def message_in(self, kind: str) -> None:
        child = self._in_by_type.get(kind)
        if child is None:
            child = _child(self._in, self._in_by_type, kind)
        child.inc()

    def message_out(self, kind: str, count: int = 1) -> None:
        if count > 0:
            child = self._out_by_type.get(kind)
            if child is None:
                child = _child(self._out, self._out_by_type, kind)
            child.inc(count)

    def message_out_text(self, text: str, count: int = 1) -> None:
        if count > 0:
            self.message_out(frame_type(text), count)

    def tick_step(self, seconds: float) -> None:
        self._tick.observe(seconds)

    def tick_batch(self, movers: int) -> None:
        self._batch.observe(movers)

    def outgoing_dropped(self) -> None:
        self._dropped.inc()

    def slow_client_closed(self) -> None:
        self._slow.inc()

    def rate_limited(self) -> None:
        self._limited.inc()

    def request_abandoned(self) -> None:
        self._abandoned.inc()

    def watch_realtime(self, connections: Reading, rooms: Reading, overruns: Reading) -> None:
        self._readings.bind("clubpengu_websocket_connections", connections)
        self._readings.bind("clubpengu_rooms_active", rooms)
        self._readings.bind("clubpengu_tick_overruns", overruns)

    def sign_in(self, result: str) -> None:
        self._signins.labels(result).inc()

    def coins(self, type_: str, amount: int) -> None:
        self._coins.labels(type_).inc(abs(amount))

    def economy_error(self, code: str) -> None:
        self._economy_errors.labels(code).inc()

    def match_started(self, game: str) -> None:
        self._started.labels(game).inc()

    def match_ended(self, game: str, reason: str) -> None:
        self._completed.labels(game).inc()
        if reason in FORFEIT_REASONS:
            self._forfeited.labels(game).inc()

    def ledger_verified(self, mismatches: int) -> None:
        self._mismatches.set(mismatches)
        self._verified.set(time.time())

    def stats_flushed(self, seconds: float, ok: bool) -> None:
        self._flush.observe(seconds)
        if not ok:
            self._flush_failures.inc()

    def watch_stats(self, pending: Reading) -> None:
        self._readings.bind("clubpengu_stats_pending_counters", pending)

    def health(self, healthy: bool, database_up: bool) -> None:
        self._health.set(1 if healthy else 0)
        self._database_up.set(1 if database_up else 0)

    def redis_published(self, seconds: float) -> None:
        self._redis_publish.observe(seconds)

    def watch_redis(self, up: Reading, reconnects: Reading) -> None:
        self._readings.bind("clubpengu_redis_up", up)
        self._readings.bind("clubpengu_redis_reconnects", reconnects)

    def command_listener(self) -> monitoring.CommandListener:
        return self._listener

    async def exposition(self) -> bytes:
        """The text exposition. The readings are taken here, on the event loop (they read
        the server's own structures); the text is then built in a thread, so a scrape
        (a few ms, tens on a busy machine) does not hold the loop, and the tick, up."""
        self._readings.refresh()
        return await asyncio.to_thread(generate_latest, self.registry)


def _child(family: Counter, children: dict[str, Counter], kind: str) -> Counter:
    """The child of `family` for message type `kind`, kept in `children`; any type
    outside MESSAGE_TYPES is `unknown` (and not kept under its own name)."""
    if kind not in MESSAGE_TYPES:
        kind = UNKNOWN
    child = children.get(kind)
    if child is None:
        child = children[kind] = family.labels(kind)
    return child


def make_metrics(enabled: bool, node_id: str, games: Iterable[str] = ()) -> Metrics:
    return PrometheusMetrics(node_id, games) if enabled else Metrics()
