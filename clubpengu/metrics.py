"""What the node measures, for Prometheus (`GET /metrics`, issue 10).

`Metrics` is the recorder the rest of the server calls (`metrics.message_in("move")`); its
methods do nothing, so code built without metrics (tests, the CLI, METRICS_ENABLED=false)
pays one empty method call. `PrometheusMetrics` records into a `CollectorRegistry` of its
own (one per app, never the process-global default, so several apps in one process, as
in the tests, do not collide). Values the server already keeps (connections, rooms,
tick overruns, pending stats counters, Redis state) are read when /metrics is scraped,
through callbacks (`watch_*`), so they cost nothing between scrapes.

Every label value comes from a closed set: message types from the protocol (anything
else is `unknown`), error codes, ledger transaction types, game ids, MongoDB command
names (others are `other`) and the node id. No wallet, IP, token or room id is a label.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator

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

CONTENT_TYPE = CONTENT_TYPE_LATEST
UNKNOWN = "unknown"
OTHER = "other"

# Frame types of docs/protocol.md, both ways (a test checks that every handler's type is
# here). A frame of any other type (a client's typo, garbage) is counted as `unknown`, so
# a client cannot add label values.
MESSAGE_TYPES = frozenset((
    "admin_adjustment", "auth_challenge", "auth_failure", "auth_request", "auth_success",
    "auth_verify", "catalog", "challenge", "challenge_accept", "challenge_cancel",
    "challenge_decline", "challenge_ended", "challenge_sent", "change_room", "chat", "coins",
    "customization", "daily_bonus", "emote", "equip", "error", "fly", "get_stats", "join",
    "joined", "kicked", "logged_out", "logout", "match_end", "match_forfeit", "match_forfeited",
    "match_history", "match_move", "match_spectate", "match_start", "match_state",
    "match_unwatch", "match_unwatched", "match_watch", "match_watching", "migrate_data",
    "migrate_result", "move", "moves", "ok", "ping", "player_joined", "player_left",
    "player_look", "pong", "promo_result", "puffle_adopt", "puffle_adopted", "puffle_bathe",
    "puffle_cared", "puffle_feed", "puffle_play", "puffle_release", "puffle_released",
    "puffle_rest", "puffle_walk", "puffle_walking", "puffles", "purchase", "purchase_result",
    "redeem_promo", "room_match", "rooms", "set_customization", "stats",
))  # fmt: skip

# The commands this server's driver sends; any other is `other`.
MONGODB_COMMANDS = frozenset((
    "find", "insert", "update", "delete", "findAndModify", "aggregate", "getMore", "count",
    "distinct", "commitTransaction", "abortTransaction", "createIndexes", "listIndexes",
    "dropIndexes", "listCollections", "killCursors", "endSessions", "ping", "hello", "isMaster",
    "buildInfo", "saslStart", "saslContinue", "createUser", "updateUser", "bulkWrite", "explain",
    "drop", "dropDatabase",
))  # fmt: skip

# A match settled by a player leaving it rather than by the game's rules.
FORFEIT_REASONS = frozenset({"forfeit", "disconnect", "timeout", "abandoned"})

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

Reading = Callable[[], float]


def frame_type(text: str) -> str:
    """The `type` of a serialised frame, for counting: the server writes `type` first
    (`{"type":"chat",…}`); a type outside MESSAGE_TYPES, or a frame that does not start
    so, is `unknown`."""
    if not text.startswith('{"type":"'):
        return UNKNOWN
    end = text.find('"', 9)
    kind = text[9:end] if 9 < end <= 41 else UNKNOWN
    return kind if kind in MESSAGE_TYPES else UNKNOWN


class Metrics:
    """The recorder interface, and the recorder that records nothing (METRICS_ENABLED
    false, the CLI, unit tests). Every method is cheap and never raises."""

    enabled = False

    # --- the realtime world ---------------------------------------------------------------

    def message_in(self, kind: str) -> None:
        """A frame read from a client; `kind` its type if the router knows it."""

    def message_out(self, kind: str, count: int = 1) -> None:
        """`count` frames of type `kind` queued for clients (a room's fan-out is one call)."""

    def message_out_text(self, text: str, count: int = 1) -> None:
        """`message_out` for a serialised frame (its type read from the text)."""

    def tick_step(self, seconds: float) -> None:
        """One step of the phased tick took `seconds`."""

    def tick_batch(self, movers: int) -> None:
        """A room's `moves` batch named `movers` players."""

    def outgoing_dropped(self) -> None:
        """A `moves` batch still queued for a slow client was superseded."""

    def slow_client_closed(self) -> None:
        """A connection was closed with 1008 for not keeping up."""

    def rate_limited(self) -> None:
        """A message was refused for a per-connection rate limit."""

    def watch_realtime(self, connections: Reading, rooms: Reading, overruns: Reading) -> None:
        """Read the connection and room counts and the tick's overruns at scrape time."""

    # --- sign-in, economy, matches ------------------------------------------------------

    def sign_in(self, result: str) -> None:
        """A sign-in attempt ended: `ok` or its failure code."""

    def coins(self, type_: str, amount: int) -> None:
        """A committed ledger entry of `type_` moved `amount` coins (either way)."""

    def economy_error(self, code: str) -> None:
        """An economy operation was refused with error `code`."""

    def match_started(self, game: str) -> None:
        """A match of `game` started."""

    def match_ended(self, game: str, reason: str) -> None:
        """A match of `game` was settled for `reason` (a forfeit reason counts twice:
        completed and forfeited)."""

    def ledger_verified(self, mismatches: int) -> None:
        """A ledger verification ran and found `mismatches`."""

    # --- stats batching ----------------------------------------------------------------

    def stats_flushed(self, seconds: float, ok: bool) -> None:
        """A stats flush took `seconds`; `ok` false when some counters were put back."""

    def watch_stats(self, pending: Reading) -> None:
        """Read the batcher's pending counters at scrape time."""

    # --- dependencies --------------------------------------------------------------------

    def health(self, healthy: bool, database_up: bool) -> None:
        """The node's health as /health (or the periodic check) computed it."""

    def redis_published(self, seconds: float) -> None:
        """One pipeline of queued Redis commands took `seconds`."""

    def watch_redis(self, up: Reading, reconnects: Reading) -> None:
        """Read the Redis bus's state and reconnect count at scrape time."""

    def command_listener(self) -> monitoring.CommandListener | None:
        """The PyMongo listener to register on the client (None: no listener)."""
        return None

    # --- exposition ----------------------------------------------------------------------

    def exposition(self) -> bytes:
        return b""


class _Readings(Collector):
    """Counters and gauges whose value the server already keeps: read at scrape time. A
    reading not bound yet (no Redis on a single node) is exported with no sample."""

    def __init__(self) -> None:
        self.gauges: dict[str, tuple[str, Reading | None]] = {}
        self.counters: dict[str, tuple[str, Reading | None]] = {}

    def collect(self) -> Iterable[Metric]:
        for name, (doc, read) in self.gauges.items():
            gauge = GaugeMetricFamily(name, doc)
            if read is not None:
                gauge.add_metric([], float(read()))
            yield gauge
        for name, (doc, read) in self.counters.items():
            counter = CounterMetricFamily(name, doc)
            if read is not None:
                counter.add_metric([], float(read()))
            yield counter

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
        # Children made once: the hot paths then cost a dict lookup and an increment.
        self._in_by_type = {kind: self._in.labels(kind) for kind in (*MESSAGE_TYPES, UNKNOWN)}
        self._out_by_type = {kind: self._out.labels(kind) for kind in (*MESSAGE_TYPES, UNKNOWN)}
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
        self._readings.gauges["clubpengu_websocket_connections"] = ("Open WebSockets", None)
        self._readings.gauges["clubpengu_rooms_active"] = (
            "Room instances with at least one member on this node", None,
        )  # fmt: skip
        self._readings.counters["clubpengu_tick_overruns"] = (
            "Tick steps that came late and were caught up", None,
        )  # fmt: skip

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
        self._readings.gauges["clubpengu_stats_pending_counters"] = (
            "Stat counters (player, path) not written yet", None,
        )  # fmt: skip

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
        self._readings.gauges["clubpengu_redis_up"] = ("1 while the Redis bus is connected", None)
        self._readings.counters["clubpengu_redis_reconnects"] = (
            "Times the Redis bus reconnected after losing Redis", None,
        )  # fmt: skip

    # --- recording ---------------------------------------------------------------------

    def message_in(self, kind: str) -> None:
        self._in_by_type.get(kind, self._in_by_type[UNKNOWN]).inc()

    def message_out(self, kind: str, count: int = 1) -> None:
        if count > 0:
            self._out_by_type.get(kind, self._out_by_type[UNKNOWN]).inc(count)

    def message_out_text(self, text: str, count: int = 1) -> None:
        if count > 0:
            self._out_by_type[frame_type(text)].inc(count)

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

    def watch_realtime(self, connections: Reading, rooms: Reading, overruns: Reading) -> None:
        gauges, counters = self._readings.gauges, self._readings.counters
        gauges["clubpengu_websocket_connections"] = (
            gauges["clubpengu_websocket_connections"][0], connections,
        )  # fmt: skip
        gauges["clubpengu_rooms_active"] = (gauges["clubpengu_rooms_active"][0], rooms)
        counters["clubpengu_tick_overruns"] = (counters["clubpengu_tick_overruns"][0], overruns)

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
        name = "clubpengu_stats_pending_counters"
        self._readings.gauges[name] = (self._readings.gauges[name][0], pending)

    def health(self, healthy: bool, database_up: bool) -> None:
        self._health.set(1 if healthy else 0)
        self._database_up.set(1 if database_up else 0)

    def redis_published(self, seconds: float) -> None:
        self._redis_publish.observe(seconds)

    def watch_redis(self, up: Reading, reconnects: Reading) -> None:
        gauges, counters = self._readings.gauges, self._readings.counters
        gauges["clubpengu_redis_up"] = (gauges["clubpengu_redis_up"][0], up)
        name = "clubpengu_redis_reconnects"
        counters[name] = (counters[name][0], reconnects)

    def command_listener(self) -> monitoring.CommandListener:
        return self._listener

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def metric_names(metrics: PrometheusMetrics) -> Iterator[str]:
    """Every family name the registry exports (for tests and docs)."""
    for family in metrics.registry.collect():
        yield family.name


def make_metrics(enabled: bool, node_id: str, games: Iterable[str] = ()) -> Metrics:
    return PrometheusMetrics(node_id, games) if enabled else Metrics()


__all__ = ["CONTENT_TYPE", "Metrics", "PrometheusMetrics", "frame_type", "make_metrics"]
