"""The parts of one node, each built once from Settings and handed to what needs it
(clubpengu/node.py puts them together, starts and stops them).

- `Realtime`: the event bus (in memory for one node; Redis, imported only then, for
  many), where each wallet's live session is, the rooms' directory, the hub, the relay
  between nodes, the reconnect grace and the node's connections.
- `Services`: the rules, one instance each, and the hooks that tie them to the realtime
  parts (what a leave, a reconnect or a reaped node means).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo import AsyncMongoClient

from clubpengu.background import Spawn
from clubpengu.config import Settings, filter_words
from clubpengu.games.catalog import default_draws, default_wins, reward_amounts
from clubpengu.metrics import Metrics
from clubpengu.models import Match
from clubpengu.models.base import utcnow
from clubpengu.progression.stamps import load_stamps
from clubpengu.realtime.admission import Admission, default_max_connections
from clubpengu.realtime.bus.backends.memory import MemoryBus
from clubpengu.realtime.bus.base import EventBus
from clubpengu.realtime.counters.base import SharedCounters
from clubpengu.realtime.directory.base import RoomDirectory
from clubpengu.realtime.directory.local import LocalDirectory
from clubpengu.realtime.grace import ReconnectGrace
from clubpengu.realtime.hub import Hub
from clubpengu.realtime.owners.base import SessionOwners
from clubpengu.realtime.owners.local import LocalOwners
from clubpengu.realtime.registry import ConnectionRegistry
from clubpengu.realtime.relay import RoomRelay
from clubpengu.realtime.rooms import RoomCatalogue
from clubpengu.realtime.sessions import SessionRegistry
from clubpengu.realtime.ticker import SlowClientWatchdog
from clubpengu.services.audit import AuditTrail
from clubpengu.services.auth import AuthConfig, AuthService
from clubpengu.services.buddies import BuddyRules, BuddyService
from clubpengu.services.buddy_presence import BuddyPresence
from clubpengu.services.catalog import Catalog
from clubpengu.services.challenges import ChallengeService
from clubpengu.services.chat_log import ChatLog
from clubpengu.services.connection_log import ConnectionLogService
from clubpengu.services.counters import (
    DailyCounter,
    MemoryDailyCounter,
    NewAccountLimit,
    RedisDailyCounter,
)
from clubpengu.services.data_export import ExportLimit
from clubpengu.services.economy import EconomyService
from clubpengu.services.erasure import ErasureService
from clubpengu.services.events import EventRecorder
from clubpengu.services.leaderboards import LeaderboardService
from clubpengu.services.match_aftermath import MatchAftermath
from clubpengu.services.matches import MatchService, Timing
from clubpengu.services.matches.presence import MatchPresence
from clubpengu.services.matches.rewards import RewardRules
from clubpengu.services.message_budget import MessageBudget
from clubpengu.services.migration import MigrationRules, MigrationService
from clubpengu.services.migration_plan import MigrationPlanner
from clubpengu.services.migration_review import MigrationReview
from clubpengu.services.moderation import ModerationService
from clubpengu.services.names import NamePolicy
from clubpengu.services.notices import Notify
from clubpengu.services.player_reports import ReportService
from clubpengu.services.presence import PresenceService
from clubpengu.services.promos import PromoService
from clubpengu.services.puffle_catalog import PuffleCatalog
from clubpengu.services.puffles import PuffleService
from clubpengu.services.ratelimit import SignInLimits
from clubpengu.services.shop import ShopService
from clubpengu.services.stamp_sessions import StampSessions
from clubpengu.services.stamps import StampService
from clubpengu.services.stats import StatsBatcher
from clubpengu.services.wager_gates import WagerGates, WagerRules
from clubpengu.services.world import WorldRules, WorldService
from clubpengu.wordfilter import WordFilter

STATS_STOP_SECONDS = 4.0  # the final stats flush must fit in the 10 s shutdown budget
Client = AsyncMongoClient[dict[str, Any]]
# What every service asks for the time: the wall clock, or (tests and scripts/farm_sim.py)
# a clock they move themselves.
Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Realtime:
    bus: EventBus
    sessions: SessionRegistry
    connections: ConnectionRegistry
    hub: Hub
    relay: RoomRelay
    grace: ReconnectGrace
    watchdog: SlowClientWatchdog
    admission: Admission
    counters: SharedCounters | None  # shared by the nodes (REDIS_URL), else None
    words: WordFilter  # the word filter: chat, and every name (services/names.py)


def _counters(settings: Settings, bus: EventBus) -> SharedCounters | None:
    """Counters every node shares (per-address limits), in Redis; none for one node."""
    if settings.redis_url is None:
        return None
    from clubpengu.realtime.bus.backends.redis import RedisBus
    from clubpengu.realtime.counters.redis import RedisCounters

    assert isinstance(bus, RedisBus)
    return RedisCounters(bus, settings.jwt_secret)


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


def build_realtime(settings: Settings, catalogue: RoomCatalogue, metrics: Metrics) -> Realtime:
    """The realtime parts. Reads CHAT_FILTER_FILE (ConfigError when it is bad)."""
    bus, owners = _bus(settings, metrics)
    words = WordFilter(filter_words(settings))
    hub = Hub(
        catalogue,
        directory=_directory(settings, bus, catalogue),
        chat_filter=words,
        phases=settings.tick_phases,
        metrics=metrics,
    )
    relay = RoomRelay(hub, bus, settings.node_id)
    hub.relay = relay
    connections = ConnectionRegistry()
    counters = _counters(settings, bus)
    admission = Admission(
        settings.max_connections or default_max_connections(),
        settings.max_connections_per_ip,
        counters,
    )
    return Realtime(
        bus=bus,
        sessions=SessionRegistry(bus, settings.node_id, owners, connections),
        connections=connections,
        hub=hub,
        relay=relay,
        grace=ReconnectGrace(settings.reconnect_grace),
        watchdog=SlowClientWatchdog(connections, settings.slow_client_seconds, metrics=metrics),
        admission=admission,
        counters=counters,
        words=words,
    )


@dataclass(frozen=True)
class Services:
    auth: AuthService
    audit: AuditTrail
    sign_in_limits: SignInLimits
    message_budget: MessageBudget
    presence: PresenceService
    events: EventRecorder
    stats: StatsBatcher
    economy: EconomyService
    shop: ShopService
    promos: PromoService
    migration: MigrationService
    migration_review: MigrationReview
    puffles: PuffleService
    matches: MatchService
    challenges: ChallengeService
    world: WorldService
    connection_log: ConnectionLogService
    chat_log: ChatLog
    moderation: ModerationService
    reports: ReportService
    erasure: ErasureService
    exports: ExportLimit
    buddies: BuddyService
    buddy_presence: BuddyPresence
    stamps: StampService
    stamp_sessions: StampSessions
    leaderboards: LeaderboardService
    aftermath: MatchAftermath


def _daily_counter(settings: Settings, realtime: Realtime) -> DailyCounter:
    """Daily counts in Redis when there is one (every node sees them), else in memory."""
    if settings.redis_url is None:
        return MemoryDailyCounter()
    from clubpengu.realtime.bus.backends.redis import RedisBus

    assert isinstance(realtime.bus, RedisBus)
    return RedisDailyCounter(realtime.bus.client, realtime.bus.timeout)


def _auth(
    settings: Settings,
    realtime: Realtime,
    events: EventRecorder,
    metrics: Metrics,
    clock: Clock,
    welcome_stamps: tuple[str, ...],
) -> AuthService:
    new_accounts = NewAccountLimit(
        _daily_counter(settings, realtime), settings.new_accounts_per_ip_per_day, clock
    )
    return AuthService(
        AuthConfig(
            domain=settings.auth_domain,
            challenge_ttl=timedelta(seconds=settings.auth_challenge_ttl_seconds),
            jwt_secret=settings.jwt_secret,
            jwt_expiry=timedelta(seconds=settings.jwt_expiry_seconds),
            admin_wallets=settings.admin_wallets,
            analyst_wallets=settings.analyst_wallets,
            moderator_wallets=settings.moderator_wallets,
            welcome_stamps=welcome_stamps,
        ),
        clock=clock,
        events=events,
        metrics=metrics,
        new_accounts=new_accounts,
        erased=realtime.sessions.erased,
    )


def _wager_rules(settings: Settings) -> WagerRules:
    return WagerRules(
        min_account_age=timedelta(seconds=settings.wager_min_account_age),
        min_matches=settings.wager_min_matches,
        pair_daily_limit=settings.wager_pair_daily_limit,
        daily_win_limit=settings.wager_daily_win_limit,
    )


def reward_rules(settings: Settings) -> RewardRules:
    return RewardRules(
        win=reward_amounts(dict(settings.match_reward_win), default_wins()),
        draw=reward_amounts(dict(settings.match_reward_draw), default_draws()),
        daily_cap=settings.match_reward_daily_cap,
        pair_daily=settings.match_reward_pair_daily,
        computer_daily_cap=settings.match_reward_computer_daily_cap,
    )


def _matches(
    settings: Settings,
    client: Client,
    economy: EconomyService,
    notify: Notify,
    metrics: Metrics,
    clock: Clock,
    buddies: BuddyService,
) -> tuple[MatchService, ChallengeService]:
    timing = Timing(
        turn_seconds=settings.match_turn_seconds,
        sweep_interval=settings.match_sweep_interval_seconds,
        abandon_after=settings.match_abandon_after_seconds,
        cache_size=settings.match_cache_size,
        computer_answer=settings.computer_answer_budget,
    )
    db = settings.mongodb_db
    matches = MatchService(
        client, db, economy, notify, timing, clock=clock, metrics=metrics,
        min_moves=settings.match_min_moves, rewards=reward_rules(settings),
        computer_workers=settings.computer_workers,
    )  # fmt: skip
    challenges = ChallengeService(
        client,
        db,
        economy,
        matches,
        notify,
        ttl_seconds=settings.challenge_ttl_seconds,
        max_wager=settings.match_max_wager,
        clock=clock,
        gates=WagerGates(client, db, _wager_rules(settings), clock),
        ignores=buddies.ignores,
    )
    return matches, challenges


def _buddies(
    settings: Settings, realtime: Realtime, notify: Notify, clock: Clock
) -> tuple[BuddyService, BuddyPresence]:
    rules = BuddyRules(
        limit=settings.buddy_limit,
        ignore_limit=settings.ignore_limit,
        request_ttl=timedelta(seconds=settings.buddy_request_ttl),
        request_rate=settings.buddy_request_rate,
    )
    buddies = BuddyService(notify, rules, clock)
    presence = BuddyPresence(realtime.bus, settings.node_id, notify, buddies.load)
    buddies.presence = presence
    return buddies, presence


def _stats(settings: Settings, client: Client, metrics: Metrics) -> StatsBatcher:
    return StatsBatcher.for_database(
        client,
        settings.mongodb_db,
        batching=settings.stats_batching,
        flush_interval=settings.stats_flush_interval_seconds,
        stop_timeout=STATS_STOP_SECONDS,
        metrics=metrics,
    )


def _migration(
    settings: Settings,
    economy: EconomyService,
    catalog: Catalog,
    names: NamePolicy,
    clock: Clock,
) -> MigrationService:
    planner = MigrationPlanner.for_catalog(
        catalog,
        max_coins=settings.migration_max_coins,
        max_puffles=settings.puffle_limit,
        names=names,
    )
    window = settings.migration_window_seconds
    rules = MigrationRules(
        enabled=settings.migration_enabled,
        until=settings.migration_until,
        window=timedelta(seconds=window) if window > 0 else None,
        review_coins=settings.migration_review_coins,
        review_puffles=settings.migration_review_puffles,
    )
    return MigrationService(economy, planner, rules, clock)


def build_services(
    settings: Settings,
    client: Client,
    realtime: Realtime,
    catalog: Catalog,
    metrics: Metrics,
    notify: Notify,
    spawn: Spawn,
    clock: Clock = utcnow,
) -> Services:
    """Every service, once; `notify` tells a wallet's live connection, `spawn` runs work
    the node's shutdown waits for, `clock` is what they all ask for the time."""
    db = settings.mongodb_db
    erased = realtime.sessions.erased
    events = EventRecorder(
        settings.node_id, timedelta(seconds=settings.event_retention_seconds), erased=erased
    )
    stamp_catalog = load_stamps()
    auth = _auth(settings, realtime, events, metrics, clock, stamp_catalog.welcome())
    presence = PresenceService(settings.node_id, clock)
    stats = _stats(settings, client, metrics)
    economy = EconomyService(
        client, db, clock=clock, daily_bonus_coins=settings.daily_bonus_coins, notify=notify,
        metrics=metrics,
    )  # fmt: skip
    buddies, buddy_presence = _buddies(settings, realtime, notify, clock)
    matches, challenges = _matches(settings, client, economy, notify, metrics, clock, buddies)
    rooms = frozenset(realtime.hub.catalogue.rooms)
    stamps = StampService(
        client, db, stamp_catalog, economy, notify, spawn,
        universe={"room_visited": rooms}, min_moves=settings.match_min_moves, clock=clock,
    )  # fmt: skip
    stamp_sessions = StampSessions(stamps, stats)
    leaderboards = LeaderboardService(
        client, db, economy, min_moves=settings.match_min_moves,
        cache_seconds=settings.leaderboard_cache_seconds, clock=clock,
    )  # fmt: skip
    rules = WorldRules(
        settings.require_wallet_auth,
        daily_bonus=bool(settings.daily_bonus_coins),
        bonus_min_age=timedelta(seconds=settings.daily_bonus_min_age),
    )
    world = WorldService(
        realtime.hub, realtime.grace, realtime.sessions, realtime.connections,
        auth, presence, events, stats, economy, spawn, rules, stamp_sessions,
    )  # fmt: skip
    puffles = PuffleCatalog.load()
    audit = AuditTrail(client, db)
    chat_log = ChatLog(client, db, settings.node_id, settings.chat_log_retention, erased=erased)
    moderation = ModerationService(client, db, economy, audit, auth, realtime.sessions)
    reports = ReportService(client, db, economy, moderation, audit, chat_log, settings.report_rate)
    names = NamePolicy(realtime.words)
    connection_log = ConnectionLogService(
        settings.node_id, settings.connection_log_ttl, settings.jwt_secret, clock
    )
    erasure = ErasureService(
        client, db, auth, economy, audit, realtime.sessions,
        secret=settings.jwt_secret, grace=timedelta(seconds=settings.erasure_grace),
        flushes=(events.flush, connection_log.flush, chat_log.flush, stats.flush),
        unlinks=(buddies.forget,), clock=clock,
    )  # fmt: skip
    exports = ExportLimit(
        _daily_counter(settings, realtime),
        settings.data_exports_per_day,
        settings.jwt_secret,
        clock,
    )
    services = Services(
        auth=auth,
        audit=audit,
        sign_in_limits=SignInLimits(
            settings.auth_rate_per_ip, settings.auth_rate_per_connection, realtime.counters
        ),
        message_budget=MessageBudget(settings.message_rate_per_ip, realtime.counters),
        presence=presence,
        events=events,
        stats=stats,
        economy=economy,
        shop=ShopService(client, db, economy, catalog, clock=clock, stamps=stamps.report),
        promos=PromoService(client, db, economy, catalog, audit=audit, clock=clock),
        migration=_migration(settings, economy, catalog, names, clock),
        migration_review=MigrationReview(
            economy, notify, audit, puffle_limit=settings.puffle_limit, clock=clock
        ),
        puffles=PuffleService(
            client,
            db,
            economy,
            puffles,
            catalog,
            limit=settings.puffle_limit,
            names=names,
            clock=clock,
            stamps=stamps.report,
        ),
        matches=matches,
        challenges=challenges,
        world=world,
        connection_log=connection_log,
        chat_log=chat_log,
        moderation=moderation,
        reports=reports,
        erasure=erasure,
        exports=exports,
        buddies=buddies,
        buddy_presence=buddy_presence,
        stamps=stamps,
        stamp_sessions=stamp_sessions,
        leaderboards=leaderboards,
        aftermath=MatchAftermath(
            client[db][Match.Settings.name], stamps, leaderboards, clock,
            retry_after=settings.match_aftermath_retry_seconds,
        ),
    )  # fmt: skip
    _hook(settings, realtime, services)
    _count_matches(services, spawn)
    return services


def _hook(settings: Settings, realtime: Realtime, services: Services) -> None:
    """What the realtime parts' events mean: a reconnect grace that ends and a kick from
    another node are leaves (the world service); entering and leaving rooms matter to a
    player's matches; a shared directory's reaped and restored nodes."""
    world = services.world
    world.buddies = services.buddy_presence
    realtime.grace.expire = world.expire
    realtime.sessions.displaced_hooks.append(world.displaced)
    realtime.sessions.banned_hooks.append(world.banned)
    realtime.hub.chat_recorder = services.chat_log
    presence = MatchPresence(
        services.matches,
        services.challenges,
        realtime.sessions,
        realtime.connections,
        disconnect_grace=settings.match_disconnect_grace_seconds,
    )
    realtime.hub.entered_hooks.append(presence.entered)
    realtime.hub.left_hooks.append(presence.left)
    _watch_directory(realtime.hub, services.presence)


def _count_matches(services: Services, spawn: Spawn) -> None:
    """A finished match's stamps and leaderboard entries, recorded in the background by
    the node that settled it (exactly one does; a sweep takes up what it did not finish:
    services/match_aftermath.py); a new friendship's buddy stamps, by the node that made
    it."""

    def ended(kind: str, match: Match) -> None:
        if kind == "end" and match.aftermath_due:
            spawn(services.aftermath.run(match), "aftermath:match")

    services.matches.listeners.append(ended)

    async def befriended(accepter: str, requester: str) -> None:
        spawn(_buddy_stamps(services, (accepter, requester)), "stamps:buddy")

    services.buddies.befriended.append(befriended)


async def _buddy_stamps(services: Services, wallets: tuple[str, ...]) -> None:
    """The buddy stamps of both wallets of a new friendship, counted from their lists."""
    for wallet in wallets:
        await services.stamps.buddy_made(wallet, await services.buddies.count(wallet))


def _watch_directory(hub: Hub, presence: PresenceService) -> None:
    """What a shared directory reports: a silent node's players leave their rooms and are
    marked disconnected; this node, taken for dead, shows its players again."""
    directory = hub.directory
    if not directory.shared:
        return
    from clubpengu.realtime.directory.redis import RedisDirectory

    assert isinstance(directory, RedisDirectory)

    async def reaped(node: str, seats: list[tuple[str, str]]) -> None:
        await presence.reset_node(node)
        await hub.forget_players(seats)

    directory.on_reaped = reaped
    directory.on_restored = hub.reannounce
