"""Settings: one frozen object read from the environment (and an optional `.env`) at start-up.

Each setting is declared once, as a field of Settings: its variable, default, parser (with
its bounds) and meaning (config_parsers.py). `load_settings` reads every declared variable
with its parser, then checks the settings that depend on each other. Services receive the
values they need through their constructors. A bad value raises `ConfigError`, whose
message is the one line the operator sees (it names the variable).
"""

from __future__ import annotations

import logging
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from clubpengu.config_parsers import (
    PHRASE,
    ConfigError,
    GameAmounts,
    Network,
    Rate,
    Setting,
    choice,
    declared,
    duration,
    flag,
    game_amounts,
    identifier,
    integer,
    networks,
    optional_integer,
    optional_moment,
    optional_path,
    optional_text,
    origins,
    parse_duration,
    parse_rate,
    path,
    phrases,
    rate,
    setting,
    text,
    uri,
    wallets,
    whole_float,
)
from clubpengu.games.catalog import GAMES

GAME_IDS = tuple(GAMES)

__all__ = [
    "DEFAULT_CHAT_FILTER_WORDS",
    "JWT_SECRET_FILE",
    "MIN_PRODUCTION_SECRET_BYTES",
    "ConfigError",
    "Rate",
    "Settings",
    "declared_settings",
    "ensure_jwt_secret",
    "filter_words",
    "load_settings",
    "parse_dotenv",
    "parse_duration",
    "parse_rate",
]

MIN_PRODUCTION_SECRET_BYTES = 32
JWT_SECRET_FILE = "jwt_secret"
# A deliberately small, mild default; operators replace it with CHAT_FILTER_WORDS.
DEFAULT_CHAT_FILTER_WORDS = ("damn", "crap", "idiot", "stupid", "dumb", "loser")
DAY = 86400.0
_UNSET = object()
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Settings:
    """Every setting of a node. Tests build it with keyword arguments; `load_settings`
    builds it from the environment. A new setting is one `setting(...)` field here (with a
    variable, default, parser and meaning) and one row in the configuration table."""

    # One declaration to a line or two, read as a table; the formatter would spread each
    # over six.
    # fmt: off
    env: str = setting("CLUBPENGU_ENV", "development", choice("development", "test", "production"),
        "production refuses the embedded database and a short JWT_SECRET")
    node_id: str = setting("NODE_ID", "node-1", identifier(echo=True),
        "this node's name in logs, /health and presence; it names the node's Redis channel")
    mongodb_uri: str | None = setting("MONGODB_URI", None, uri("mongodb://", "mongodb+srv://"),
        "a MongoDB to connect to; unset starts the embedded SecantusDB")
    mongodb_db: str = setting("MONGODB_DB", "clubpengu", text, "database name")
    mongo_max_pool_size: int = setting("MONGODB_MAX_POOL_SIZE", 100, integer(minimum=1),
        "connection pool maximum")
    mongo_min_pool_size: int = setting("MONGODB_MIN_POOL_SIZE", 10, integer(),
        "connection pool minimum")
    mongo_server_selection_timeout_ms: int = setting(
        "MONGODB_SERVER_SELECTION_TIMEOUT_MS", 5000, integer(minimum=1),
        "how long an operation waits for a usable server",
    )
    mongo_socket_timeout_ms: int = setting("MONGODB_SOCKET_TIMEOUT_MS", 45000, integer(minimum=1),
        "socket read timeout")
    jwt_secret: str = setting("JWT_SECRET", "", text,
        "HS256 key for session tokens; generated once in the data directory outside production",
        secret=True)
    jwt_expiry_seconds: float = setting("JWT_EXPIRY", 7 * DAY, duration(), "session token lifetime")
    redis_url: str | None = setting("REDIS_URL", None, uri("redis://", "rediss://", "unix://"),
        "Redis for more than one node; unset runs a single node with no Redis")
    data_dir: Path = setting("CLUBPENGU_DATA_DIR", Path("./var/mongo"), path,
        "the embedded database's files and the generated JWT secret")
    admin_wallets: frozenset[str] = setting("ADMIN_WALLETS", frozenset(), wallets,
        "wallets that get the admin role")
    # Staff roles are read from these on every staff request, never from a token; a wallet
    # listed twice takes the strongest role: admin, then moderator, then analyst.
    analyst_wallets: frozenset[str] = setting("ANALYST_WALLETS", frozenset(), wallets,
        "wallets that get the read-only analyst role")
    moderator_wallets: frozenset[str] = setting("MODERATOR_WALLETS", frozenset(), wallets,
        "wallets that get the moderator role: bans, mutes, reports, reading players")
    report_rate: Rate = setting("REPORT_RATE", Rate(5, 3600.0), rate,
        "player reports a player may send; 0: no limit")
    chat_log_retention: float = setting("CHAT_LOG_RETENTION", 30 * DAY, duration(),
        "how long chat lines are kept for reports")
    # Players' data (docs/privacy.md): exports per wallet a day, how long a player's own
    # erasure request waits (they may cancel meanwhile), how often due erasures are run.
    data_exports_per_day: int = setting("DATA_EXPORTS_PER_DAY", 3, integer(),
        "exports of their data a wallet may ask for a day; 0: no limit")
    erasure_grace: float = setting("ERASURE_GRACE", 7 * DAY, duration(allow_zero=True),
        "how long a player's own erasure request waits before it is carried out")
    erasure_sweep_interval: float = setting("ERASURE_SWEEP_INTERVAL", 5.0, duration(),
        "how often a node looks for due erasures to run, and for erasures started elsewhere")
    # The old server's names of these two flags are read too, so that its environment
    # keeps working (docs/configuration.md#aliases).
    require_wallet_auth: bool = setting("REQUIRE_WALLET_AUTH", True, flag,
        "false admits guests who own and persist nothing", aliases=("FEATURE_REQUIRE_AUTH",))
    stats_batching: bool = setting("STATS_BATCHING", True, flag,
        "batch high-frequency stat counters", aliases=("FEATURE_STATS_BATCH",))
    stats_flush_interval_seconds: float = setting("STATS_FLUSH_INTERVAL", 30.0, duration(),
        "how often batched stat counters are written")
    max_frame_bytes: int = setting("MAX_FRAME_BYTES", 16 * 1024, integer(256, 1 << 20),
        "largest WebSocket frame answered normally")
    host: str = setting("HOST", "127.0.0.1", text, "where `clubpengu serve` listens")
    port: int = setting("PORT", 8000, integer(0, 65535), "the port `clubpengu serve` binds")
    log_level: str = setting("LOG_LEVEL", "info", choice("debug", "info", "warning", "error"),
        "least level logged")
    auth_domain: str = setting("AUTH_DOMAIN", "clubpengu.local", text,
        "the domain named in the text a wallet signs")
    auth_challenge_ttl_seconds: float = setting("AUTH_CHALLENGE_TTL", 300.0, duration(),
        "how long a sign-in challenge is valid")
    auth_rate_per_ip: int = setting("AUTH_RATE_PER_IP", 60, integer(),
        "sign-in attempts per minute per client IP; 0: off")
    auth_rate_per_connection: int = setting("AUTH_RATE_PER_CONNECTION", 10, integer(),
        "sign-in attempts per minute per connection")
    trusted_proxies: tuple[Network, ...] = setting("TRUSTED_PROXIES", (), networks,
        "networks whose X-Forwarded-For is believed")
    event_retention_seconds: float = setting("EVENT_RETENTION", 180 * DAY, duration(),
        "how long per-player history events are kept")
    puffle_limit: int = setting("PUFFLE_LIMIT", 10, integer(1, 100),
        "most puffles a player may keep")
    db_auth: bool = setting("CLUBPENGU_DB_AUTH", False, flag,
        "start the embedded database with authentication, as the application user")
    db_app_user: str = setting("MONGODB_APP_USER", "clubpengu_app", identifier(echo=False),
        "the application's database user (readWrite)")
    db_app_password: str | None = setting("MONGODB_APP_PASSWORD", None, optional_text,
        "its password", secret=True)
    db_analyst_user: str = setting(
        "MONGODB_ANALYST_USER", "clubpengu_analyst", identifier(echo=False),
        "the analysts' database user (read only)",
    )
    db_analyst_password: str | None = setting("MONGODB_ANALYST_PASSWORD", None, optional_text,
        "its password", secret=True)
    daily_bonus_coins: int = setting("DAILY_BONUS_COINS", 25, integer(0, 10**9),
        "coins of the daily login bonus; 0: off")
    # Every coin source is bounded and every transfer gated (the
    # rules and their reasons: docs/economy.md, "An economy that cannot be farmed").
    daily_bonus_min_age: float = setting("DAILY_BONUS_MIN_AGE", DAY, duration(allow_zero=True),
        "the daily bonus waits until the account is this old, unless it has played; 0: at once")
    new_accounts_per_ip_per_day: int = setting("NEW_ACCOUNTS_PER_IP_PER_DAY", 20, integer(),
        "new wallets one client address may create per UTC day; 0: no limit")
    migration_enabled: bool = setting("MIGRATION_ENABLED", True, flag,
        "whether players may bring a localStorage save (migrate_data)")
    migration_until: datetime | None = setting("MIGRATION_UNTIL", None, optional_moment,
        "an ISO date after which migrate_data is refused; unset: no end")
    migration_window_seconds: float = setting(
        "MIGRATION_WINDOW", 3600.0, duration(allow_zero=True),
        "how long after its first sign-in a wallet may migrate; 0: no end",
    )
    migration_max_coins: int = setting("MIGRATION_MAX_COINS", 50_000, integer(maximum=10**9),
        "most coins a localStorage save may bring")
    migration_review_coins: int = setting("MIGRATION_REVIEW_COINS", 1000, integer(0, 10**9),
        "a save asking for more coins than this is held for staff review")
    migration_review_puffles: int = setting("MIGRATION_REVIEW_PUFFLES", 2, integer(0, 100),
        "a save bringing more puffles than this is held for staff review")
    wager_min_account_age: float = setting("WAGER_MIN_ACCOUNT_AGE", DAY,
        duration(allow_zero=True), "both players of a wagered challenge must be this old; 0: off")
    wager_min_matches: int = setting("WAGER_MIN_MATCHES", 3, integer(0, 1000),
        "free matches both players must have finished before a wagered challenge")
    wager_pair_daily_limit: int = setting("WAGER_PAIR_DAILY_LIMIT", 200, integer(0, 10**9),
        "coins wagers may move between the same two wallets per UTC day; 0: no limit")
    wager_daily_win_limit: int = setting("WAGER_DAILY_WIN_LIMIT", 1000, integer(0, 10**9),
        "coins one wallet may win from wagers per UTC day; 0: no limit")
    match_max_wager: int = setting("MATCH_MAX_WAGER", 1000, integer(0, 10**8),
        "largest wager of a challenge")
    # Shared by the wager gates (an early forfeit refunds both stakes) and the match rewards
    # (no reward when the loser made fewer moves): one notion of "a match was played".
    match_min_moves: int = setting("MATCH_MIN_MOVES", 2, integer(0, 100),
        "moves the losing or forfeiting player must have made for a match to count")
    # The house's coins for finished matches (services/matches/rewards.py): per game, the
    # catalogue's defaults unless named here; bounded per wallet, per pair and against the
    # computer per UTC day. A cap of 0 pays nothing.
    match_reward_win: GameAmounts = setting("MATCH_REWARD_WIN", (),
        game_amounts(GAME_IDS, 10_000),
        "coins for a won match: game=coins pairs or one number for every game; blank: defaults")
    match_reward_draw: GameAmounts = setting("MATCH_REWARD_DRAW", (),
        game_amounts(GAME_IDS, 10_000),
        "coins for each player of a drawn match, in the form of MATCH_REWARD_WIN")
    match_reward_daily_cap: int = setting("MATCH_REWARD_DAILY_CAP", 300, integer(0, 10**7),
        "match reward coins one wallet may get per UTC day; 0: none")
    match_reward_pair_daily: int = setting("MATCH_REWARD_PAIR_DAILY", 5, integer(0, 10_000),
        "rewarded matches between the same two wallets per UTC day; 0: none")
    match_reward_computer_daily_cap: int = setting("MATCH_REWARD_COMPUTER_DAILY_CAP", 100,
        integer(0, 10**7), "of those coins, the most from matches against the computer; 0: none")
    computer_workers: int = setting("COMPUTER_WORKERS", 2, integer(0, 64),
        "processes computing the computer opponent's moves; 0: a thread of the node's process")
    computer_answer_budget: float = setting("COMPUTER_ANSWER_BUDGET", 0.05,
        duration(allow_zero=True),
        "how long a move against the computer waits for its answer, to write both in one "
        "update; 0: never waits")
    leaderboard_cache_seconds: float = setting("LEADERBOARD_CACHE_SECONDS", 2.0,
        duration(allow_zero=True),
        "how long a node keeps a board's top 100 (a match recorded on the node drops it)")
    challenge_ttl_seconds: float = setting("CHALLENGE_TTL", 60.0, duration(),
        "how long a challenge waits for an answer")
    buddy_limit: int = setting("BUDDY_LIMIT", 100, integer(1, 1000),
        "most buddies a player may have")
    ignore_limit: int = setting("IGNORE_LIMIT", 100, integer(1, 1000),
        "most wallets a player may ignore")
    buddy_request_ttl: float = setting("BUDDY_REQUEST_TTL", 14 * DAY, duration(),
        "how long a buddy request waits for an answer")
    buddy_request_rate: Rate = setting("BUDDY_REQUEST_RATE", Rate(10, 60.0), rate,
        "buddy requests a player may send; 0: no limit")
    match_turn_seconds: float = setting("MATCH_TURN_SECONDS", 30.0, duration(),
        "turn timer; the idle player forfeits")
    match_disconnect_grace_seconds: float = setting("MATCH_DISCONNECT_GRACE", 15.0, duration(),
        "a player who disconnects and is not back within this forfeits")
    match_sweep_interval_seconds: float = setting("MATCH_SWEEP_INTERVAL", 30.0, duration(),
        "how often a node looks for abandoned matches")
    match_abandon_after_seconds: float = setting("MATCH_ABANDON_AFTER", 300.0, duration(),
        "a match whose turn deadline passed this long ago is settled as abandoned")
    match_aftermath_retry_seconds: float = setting("MATCH_AFTERMATH_RETRY", 60.0, duration(),
        "a match played out whose stamps and leaderboard entries are still unrecorded this"
        " long after its end is taken up by the next match sweep")
    match_cache_size: int = setting("MATCH_CACHE_SIZE", 10_000, integer(0, 10**7),
        "active matches a node keeps in memory; 0: read every time")
    # The realtime world. A tick rate of 0 (tests only) runs no tick loop: the caller
    # drives `Hub.tick_once()` itself.
    tick_rate: float = setting("TICK_RATE", 10.0, whole_float(1, 100), "movement ticks a second")
    tick_phases: int = setting("TICK_PHASES", 10, integer(1, 50),
        "slices of the tick period over which the rooms' batches are spread")
    rooms_file: Path | None = setting("CLUBPENGU_ROOMS", None, optional_path,
        "a rooms file that replaces the built-in one")
    room_capacity: int | None = setting("ROOM_CAPACITY", None, optional_integer(1, 10_000),
        "overrides every room's capacity")
    instance_close_grace: float = setting("INSTANCE_CLOSE_GRACE", 15.0, duration(allow_zero=True),
        "how long an empty extra room instance stays open")
    chat_filter_words: tuple[str, ...] = setting(
        "CHAT_FILTER_WORDS", DEFAULT_CHAT_FILTER_WORDS, phrases,
        "words or phrases masked in chat; empty: no filter",
    )
    move_rate: Rate = setting("MOVE_RATE", Rate(20, 1.0), rate,
        "move messages per connection; 0: no limit")
    chat_rate: Rate = setting("CHAT_RATE", Rate(5, 5.0), rate,
        "chat and emote messages per connection")
    message_rate: Rate = setting("MESSAGE_RATE", Rate(30, 1.0), rate,
        "every other message per connection")
    abuse_seconds: float = setting("ABUSE_SECONDS", 5.0, duration(),
        "a connection over a limit every second for this long is closed")
    slow_client_seconds: float = setting("SLOW_CLIENT_SECONDS", 5.0, duration(),
        "a connection that accepts nothing for this long is closed")
    outgoing_queue_limit: int = setting("OUTGOING_QUEUE_LIMIT", 256, integer(8, 100_000),
        "frames a connection may have waiting before it counts as full")
    ws_ping_interval: float = setting("WS_PING_INTERVAL", 20.0, duration(),
        "how often the server pings each WebSocket")
    ws_idle_timeout: float = setting("WS_IDLE_TIMEOUT", 60.0, duration(),
        "a connection that has not answered pings for this long is dropped")
    ws_compression: bool = setting("WS_COMPRESSION", False, flag,
        "offer per-message deflate (costly in CPU)")
    reconnect_grace: float = setting("RECONNECT_GRACE", 30.0, duration(allow_zero=True),
        "how long a dropped player keeps their place; 0: off")
    connection_log_ttl: float = setting("CONNECTION_LOG_TTL", 90 * DAY, duration(),
        "how long connection log entries are kept")
    # Many nodes (REDIS_URL set): Redis timeouts, reconnect backoff, the publish queue, and
    # how long before each tick's send its movement is cut and published to the others.
    redis_timeout: float = setting("REDIS_TIMEOUT", 2.0, duration(),
        "Redis connect and command timeout")
    redis_reconnect_min: float = setting("REDIS_RECONNECT_MIN", 0.1, duration(),
        "first reconnect delay after Redis is lost")
    redis_reconnect_max: float = setting("REDIS_RECONNECT_MAX", 5.0, duration(),
        "longest reconnect delay (doubling up to it)")
    redis_publish_queue: int = setting("REDIS_PUBLISH_QUEUE", 10_000, integer(100, 1_000_000),
        "messages waiting to be published; beyond it they are dropped and counted")
    node_timeout: float = setting("NODE_TIMEOUT", 15.0, duration(),
        "a node whose heartbeat is this old is taken for dead")
    tick_lead: float = setting("TICK_LEAD", 0.02, duration(allow_zero=True),
        "how long before each tick its movement is published to the other nodes")
    # Operations: GET /metrics and what feeds it. METRICS_ENABLED false serves no /metrics
    # and records nothing; LEDGER_VERIFY_INTERVAL 0 turns the periodic ledger check off
    # (the staff route still runs it on demand).
    metrics_enabled: bool = setting("METRICS_ENABLED", True, flag,
        "serve GET /metrics and record what it shows")
    ledger_verify_interval: float = setting(
        "LEDGER_VERIFY_INTERVAL", 6 * 3600.0, duration(allow_zero=True),
        "how often each node verifies the ledger; 0: never",
    )
    # The edge (docs/operations.md, "Limits at the edge"): what a client address may open
    # and send, how long a request may take to arrive, which pages may open sockets, and
    # who may read /metrics. Each per-address limit is turned off by 0 (load tests run
    # thousands of clients from one address).
    max_body_bytes: int = setting("MAX_BODY_BYTES", 16 * 1024, integer(256, 1 << 24),
        "largest HTTP request body; a larger one is 413, refused before it is read")
    http_header_timeout: float = setting("HTTP_HEADER_TIMEOUT", 10.0, duration(),
        "a request whose headers have not all arrived by then is dropped")
    http_body_timeout: float = setting("HTTP_BODY_TIMEOUT", 30.0, duration(),
        "a request whose body has not all arrived by then is answered 408")
    allowed_origins: tuple[str, ...] = setting("ALLOWED_ORIGINS", (), origins,
        "browser origins allowed besides the server's own; * allows any")
    max_connections: int | None = setting("MAX_CONNECTIONS", None, optional_integer(1, 10**7),
        "open WebSockets on this node; unset: the process's file limit less headroom")
    max_connections_per_ip: int = setting("MAX_CONNECTIONS_PER_IP", 20, integer(),
        "open WebSockets per client address (across nodes with REDIS_URL); 0: off")
    message_rate_per_ip: Rate = setting("MESSAGE_RATE_PER_IP", Rate(400, 1.0), rate,
        "messages per client address across all its sockets (across nodes with REDIS_URL); 0: off")
    sign_in_deadline: float = setting("SIGN_IN_DEADLINE", 30.0, duration(allow_zero=True),
        "a socket that has neither signed in nor joined by then is closed 1008; 0: off")
    metrics_token: str | None = setting("METRICS_TOKEN", None, optional_text,
        "a bearer token GET /metrics requires; unset: /metrics is open", secret=True)
    # Names and chat: the word filter's list from a file as well as CHAT_FILTER_WORDS
    # (read at start-up by `filter_words`).
    chat_filter_file: Path | None = setting("CHAT_FILTER_FILE", None, optional_path,
        "a file of words or phrases for the filter, one a line (# comments)")
    # fmt: on

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def embedded_db(self) -> bool:
        return self.mongodb_uri is None

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    def check_production(self) -> None:
        """Refuse settings that are fine for development but unsafe in production."""
        if not self.production:
            return
        if self.embedded_db:
            raise ConfigError(
                "MONGODB_URI: must be set when CLUBPENGU_ENV=production "
                "(the embedded database is for development and tests only)"
            )
        if len(self.jwt_secret.encode()) < MIN_PRODUCTION_SECRET_BYTES:
            raise ConfigError(
                f"JWT_SECRET: must be at least {MIN_PRODUCTION_SECRET_BYTES} bytes "
                "when CLUBPENGU_ENV=production"
            )


def parse_dotenv(text: str) -> dict[str, str]:
    """Parse KEY=VALUE lines; `#` comments, blank lines, `export ` and quotes allowed."""
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").strip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            raise ConfigError(f".env line {number}: expected KEY=VALUE")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values


def declared_settings() -> dict[str, Setting[Any]]:
    """Every declared setting by field name, in declaration order."""
    found = {item.name: declared(item.metadata) for item in fields(Settings)}
    return {name: setting for name, setting in found.items() if setting is not None}


def load_settings(
    environ: Mapping[str, str] | None = None, dotenv_path: Path | None = Path(".env")
) -> Settings:
    """Read settings from `environ` (default: os.environ) over an optional `.env` file.

    Variables in the real environment win over the `.env` file. Raises ConfigError.
    """
    env: dict[str, str] = {}
    if dotenv_path is not None and dotenv_path.is_file():
        env.update(parse_dotenv(dotenv_path.read_text()))
    env.update(os.environ if environ is None else environ)
    defaults = {item.name: item.default for item in fields(Settings)}
    values = {}
    for name, declaration in declared_settings().items():
        found = _read(declaration, env, defaults[name])
        if found is not _UNSET:
            values[name] = found
    settings = Settings(**values)
    _check_together(settings)
    return settings


def _read(declaration: Setting[Any], env: Mapping[str, str], default: Any) -> Any:
    """A setting's value from `env` (_UNSET when unset): under its own name, else under one
    of its aliases (logged, so that an operator sees which name took effect). The name
    and an alias set to different values is an error: which one was meant?"""
    found = [
        (variable, declaration.parse(variable, env[variable], default))
        for variable in (declaration.variable, *declaration.aliases)
        if variable in env
    ]
    if not found:
        return _UNSET
    variable, value = found[0]
    if any(other != value for _, other in found[1:]):
        names = " and ".join(name for name, _ in found)
        raise ConfigError(
            f"{declaration.variable}: {names} are both set, to different values; "
            f"keep {declaration.variable} only"
        )
    if variable != declaration.variable:
        logger.warning(
            f"{variable} read as {declaration.variable} (the old name; rename it)",
            extra={"variable": declaration.variable, "alias": variable},
        )
    return value


def _check_together(settings: Settings) -> None:
    """The rules between settings, each named after the variable an operator would change."""
    if settings.ws_idle_timeout <= settings.ws_ping_interval:
        raise ConfigError("WS_IDLE_TIMEOUT: must be longer than WS_PING_INTERVAL")
    if settings.mongo_min_pool_size > settings.mongo_max_pool_size:
        raise ConfigError("MONGODB_MIN_POOL_SIZE: must not exceed MONGODB_MAX_POOL_SIZE")
    if settings.redis_reconnect_min > settings.redis_reconnect_max:
        raise ConfigError("REDIS_RECONNECT_MIN: must not exceed REDIS_RECONNECT_MAX")
    if settings.tick_lead > 0.5 / settings.tick_rate:
        raise ConfigError(
            f"TICK_LEAD: must be at most half a tick ({500 / settings.tick_rate:g}ms)"
        )


def ensure_jwt_secret(settings: Settings) -> Settings:
    """Outside production, generate JWT_SECRET once and keep it in the data directory.

    Tokens then survive a restart without any set-up. In production the secret must come
    from the environment (check_production refuses a short or missing one).
    """
    if settings.jwt_secret or settings.production:
        return settings
    secret_file = settings.data_dir / JWT_SECRET_FILE
    if secret_file.is_file():
        secret = secret_file.read_text().strip()
        if secret:
            return settings.with_overrides(jwt_secret=secret)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret + "\n")
    return settings.with_overrides(jwt_secret=secret)


def filter_words(settings: Settings) -> tuple[str, ...]:
    """The word filter's list: CHAT_FILTER_WORDS and the lines of CHAT_FILTER_FILE (blank
    lines and `#` comments left out). Raises ConfigError naming the file and line."""
    words = list(settings.chat_filter_words)
    path = settings.chat_filter_file
    if path is None:
        return tuple(words)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"CHAT_FILTER_FILE: cannot read {path}: {error}") from None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip().lower()
        if not line:
            continue
        if not PHRASE.fullmatch(line):
            raise ConfigError(
                f"CHAT_FILTER_FILE: {path.name} line {number}: not a plain word or phrase"
            )
        words.append(line)
    return tuple(dict.fromkeys(words))
