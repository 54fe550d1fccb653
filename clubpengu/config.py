"""Settings: one frozen object read from the environment (and an optional `.env`) at start-up.

Every variable is parsed here and nowhere else; services receive the values they need
through their constructors. A bad value raises `ConfigError`, whose message is the one
line the operator sees (it names the variable).
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

_DURATION = re.compile(r"^\s*(\d+)\s*(ms|s|m|h|d)?\s*$")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}
_RATE = re.compile(r"^\s*(?:0|(\d+)\s*/\s*(\d*)\s*(ms|s|m|h))\s*$")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
MIN_PRODUCTION_SECRET_BYTES = 32
JWT_SECRET_FILE = "jwt_secret"
# A deliberately small, mild default; operators replace it with CHAT_FILTER_WORDS.
DEFAULT_CHAT_FILTER_WORDS = ("damn", "crap", "idiot", "stupid", "dumb", "loser")


@dataclass(frozen=True)
class Rate:
    """`count` events per `seconds`; a count of 0 turns the limit off."""

    count: int
    seconds: float

    @property
    def enabled(self) -> bool:
        return self.count > 0


class ConfigError(Exception):
    """A configuration value is missing or invalid; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    env: str = "development"
    node_id: str = "node-1"
    mongodb_uri: str | None = None
    mongodb_db: str = "clubpengu"
    mongo_max_pool_size: int = 100
    mongo_min_pool_size: int = 10
    mongo_server_selection_timeout_ms: int = 5000
    mongo_socket_timeout_ms: int = 45000
    jwt_secret: str = field(default="", repr=False)
    jwt_expiry_seconds: float = 7 * 86400.0
    redis_url: str | None = None
    data_dir: Path = Path("./var/mongo")
    admin_wallets: frozenset[str] = frozenset()
    analyst_wallets: frozenset[str] = frozenset()
    require_wallet_auth: bool = True
    stats_batching: bool = True
    stats_flush_interval_seconds: float = 30.0
    max_frame_bytes: int = 16 * 1024
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "info"
    auth_domain: str = "clubpengu.local"
    auth_challenge_ttl_seconds: float = 300.0
    auth_rate_per_ip: int = 60
    auth_rate_per_connection: int = 10
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    event_retention_seconds: float = 180 * 86400.0
    migration_max_coins: int = 50_000
    puffle_limit: int = 10
    db_auth: bool = False
    db_app_user: str = "clubpengu_app"
    db_app_password: str | None = field(default=None, repr=False)
    db_analyst_user: str = "clubpengu_analyst"
    db_analyst_password: str | None = field(default=None, repr=False)
    daily_bonus_coins: int = 25
    match_max_wager: int = 1000
    challenge_ttl_seconds: float = 60.0
    match_turn_seconds: float = 30.0
    match_disconnect_grace_seconds: float = 15.0
    match_sweep_interval_seconds: float = 30.0
    match_abandon_after_seconds: float = 300.0
    match_cache_size: int = 10_000
    # The realtime world (issue 5). A tick rate of 0 (tests only) runs no tick loop: the
    # caller drives `Hub.tick_once()` itself.
    tick_rate: float = 10.0
    tick_phases: int = 10
    rooms_file: Path | None = None
    room_capacity: int | None = None  # overrides every room's capacity
    instance_close_grace: float = 15.0
    chat_filter_words: tuple[str, ...] = DEFAULT_CHAT_FILTER_WORDS
    move_rate: Rate = Rate(20, 1.0)
    chat_rate: Rate = Rate(5, 5.0)
    message_rate: Rate = Rate(30, 1.0)
    abuse_seconds: float = 5.0
    slow_client_seconds: float = 5.0
    outgoing_queue_limit: int = 256
    ws_ping_interval: float = 20.0
    ws_idle_timeout: float = 60.0
    ws_compression: bool = False
    reconnect_grace: float = 30.0
    connection_log_ttl: float = 90 * 86400.0
    # Many nodes (REDIS_URL set): Redis timeouts, reconnect backoff, the publish queue, and
    # how long before each tick's send its movement is cut and published to the others.
    redis_timeout: float = 2.0
    redis_reconnect_min: float = 0.1
    redis_reconnect_max: float = 5.0
    redis_publish_queue: int = 10_000
    node_timeout: float = 15.0
    tick_lead: float = 0.02
    # Operations (issue 10): GET /metrics and what feeds it. METRICS_ENABLED false serves
    # no /metrics and records nothing; LEDGER_VERIFY_INTERVAL 0 turns the periodic ledger
    # check off (the staff route still runs it on demand).
    metrics_enabled: bool = True
    ledger_verify_interval: float = 6 * 3600.0

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


def parse_duration(name: str, raw: str) -> float:
    """`30`, `30s`, `5m`, `7d`, `250ms` -> seconds (> 0)."""
    match = _DURATION.match(raw)
    if not match or int(match.group(1)) <= 0:
        raise ConfigError(f"{name}: expected a positive duration like 30s, 5m or 7d, got {raw!r}")
    return int(match.group(1)) * _DURATION_UNITS[match.group(2)]


def parse_rate(name: str, raw: str) -> Rate:
    """`20/s`, `5/5s`, `100/m` -> Rate; `0` turns the limit off."""
    match = _RATE.match(raw)
    if match is None:
        raise ConfigError(
            f"{name}: expected a rate like 20/s or 5/5s (0 turns it off), got {raw!r}"
        )
    if match.group(1) is None or int(match.group(1)) == 0:
        return Rate(0, 1.0)
    amount = int(match.group(2) or "1")
    if amount <= 0:
        raise ConfigError(f"{name}: the period must be positive, got {raw!r}")
    return Rate(int(match.group(1)), amount * _DURATION_UNITS[match.group(3)])


class _Reader:
    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env

    def text(self, name: str, default: str | None = None) -> str | None:
        value = self.env.get(name)
        if value is None or value.strip() == "":
            return default
        return value.strip()

    def integer(self, name: str, default: int, minimum: int = 0, maximum: int | None = None) -> int:
        raw = self.text(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"{name}: expected an integer, got {raw!r}") from None
        if value < minimum or (maximum is not None and value > maximum):
            upper = f" and {maximum}" if maximum is not None else ""
            raise ConfigError(f"{name}: must be between {minimum}{upper}, got {value}")
        return value

    def flag(self, name: str, default: bool) -> bool:
        raw = self.env.get(name)
        if raw is None:
            return default
        lowered = raw.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ConfigError(f"{name}: expected true or false, got {raw!r}")

    def duration(self, name: str, default: float, *, allow_zero: bool = False) -> float:
        raw = self.text(name)
        if raw is None:
            return default
        if allow_zero and raw.strip() in {"0", "0s", "0ms"}:
            return 0.0
        return parse_duration(name, raw)

    def rate(self, name: str, default: Rate) -> Rate:
        raw = self.text(name)
        return default if raw is None else parse_rate(name, raw)

    def words(self, name: str) -> list[str]:
        raw = self.text(name) or ""
        return [part.strip() for part in raw.split(",") if part.strip()]


def _mongodb_uri(reader: _Reader) -> str | None:
    uri = reader.text("MONGODB_URI")
    if uri is not None and not uri.startswith(("mongodb://", "mongodb+srv://")):
        raise ConfigError("MONGODB_URI: must start with mongodb:// or mongodb+srv://")
    return uri


def _trusted_proxies(reader: _Reader) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    networks = []
    for item in reader.words("TRUSTED_PROXIES"):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ConfigError(
                f"TRUSTED_PROXIES: {item!r} is not an IP address or network"
            ) from None
    return tuple(networks)


def _db_user(reader: _Reader, name: str, default: str) -> str:
    user = reader.text(name, default) or default
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", user):
        raise ConfigError(f"{name}: use 1-64 letters, digits, '_', '.' or '-'")
    return user


def _wallets(reader: _Reader, name: str) -> frozenset[str]:
    import base58

    wallets = reader.words(name)
    for wallet in wallets:
        try:
            valid = len(base58.b58decode(wallet)) == 32
        except ValueError:
            valid = False
        if not valid:
            raise ConfigError(f"{name}: {wallet!r} is not a base58 Solana wallet address")
    return frozenset(wallets)


def _chat_filter_words(reader: _Reader) -> tuple[str, ...]:
    # Unset: the built-in list. Set but empty: no filter.
    if "CHAT_FILTER_WORDS" not in reader.env:
        return DEFAULT_CHAT_FILTER_WORDS
    words = [word.lower() for word in reader.words("CHAT_FILTER_WORDS")]
    for word in words:
        if not re.fullmatch(r"[\w' -]{1,40}", word):
            raise ConfigError(f"CHAT_FILTER_WORDS: {word!r} is not a plain word or phrase")
    return tuple(words)


def _room_capacity(r: _Reader) -> int | None:
    if not r.text("ROOM_CAPACITY"):
        return None
    return r.integer("ROOM_CAPACITY", 20, minimum=1, maximum=10_000)


def _node_id(reader: _Reader) -> str:
    node_id = reader.text("NODE_ID", "node-1") or "node-1"
    # It names the node's Redis channel and is part of the session-owner values.
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", node_id):
        raise ConfigError(f"NODE_ID: use 1-64 letters, digits, '_', '.' or '-', got {node_id!r}")
    return node_id


def _redis(r: _Reader, tick_rate: float) -> dict[str, Any]:
    """REDIS_URL and the settings of the Redis bus (used only when REDIS_URL is set)."""
    url = r.text("REDIS_URL")
    if url is not None and not url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError("REDIS_URL: must start with redis://, rediss:// or unix://")
    low = r.duration("REDIS_RECONNECT_MIN", 0.1)
    high = r.duration("REDIS_RECONNECT_MAX", 5.0)
    if low > high:
        raise ConfigError("REDIS_RECONNECT_MIN: must not exceed REDIS_RECONNECT_MAX")
    lead = r.duration("TICK_LEAD", 0.02, allow_zero=True)
    if lead > 0.5 / tick_rate:
        raise ConfigError(f"TICK_LEAD: must be at most half a tick ({500 / tick_rate:g}ms)")
    return {
        "redis_url": url,
        "redis_timeout": r.duration("REDIS_TIMEOUT", 2.0),
        "redis_reconnect_min": low,
        "redis_reconnect_max": high,
        "redis_publish_queue": r.integer(
            "REDIS_PUBLISH_QUEUE", 10_000, minimum=100, maximum=1_000_000
        ),
        "tick_lead": lead,
        "node_timeout": r.duration("NODE_TIMEOUT", 15.0),
    }


def _realtime(r: _Reader) -> dict[str, Any]:
    """The realtime world's settings (rooms, tick, limits, keepalive, reconnects)."""
    ping = r.duration("WS_PING_INTERVAL", 20.0)
    idle = r.duration("WS_IDLE_TIMEOUT", 60.0)
    if idle <= ping:
        raise ConfigError("WS_IDLE_TIMEOUT: must be longer than WS_PING_INTERVAL")
    rooms = r.text("CLUBPENGU_ROOMS")
    return {
        "tick_rate": float(r.integer("TICK_RATE", 10, minimum=1, maximum=100)),
        "tick_phases": r.integer("TICK_PHASES", 10, minimum=1, maximum=50),
        "rooms_file": Path(rooms) if rooms else None,
        "room_capacity": _room_capacity(r),
        "instance_close_grace": r.duration("INSTANCE_CLOSE_GRACE", 15.0, allow_zero=True),
        "chat_filter_words": _chat_filter_words(r),
        "move_rate": r.rate("MOVE_RATE", Rate(20, 1.0)),
        "chat_rate": r.rate("CHAT_RATE", Rate(5, 5.0)),
        "message_rate": r.rate("MESSAGE_RATE", Rate(30, 1.0)),
        "abuse_seconds": r.duration("ABUSE_SECONDS", 5.0),
        "slow_client_seconds": r.duration("SLOW_CLIENT_SECONDS", 5.0),
        "outgoing_queue_limit": r.integer("OUTGOING_QUEUE_LIMIT", 256, minimum=8, maximum=100_000),
        "ws_ping_interval": ping,
        "ws_idle_timeout": idle,
        "ws_compression": r.flag("WS_COMPRESSION", False),
        "reconnect_grace": r.duration("RECONNECT_GRACE", 30.0, allow_zero=True),
        "connection_log_ttl": r.duration("CONNECTION_LOG_TTL", 90 * 86400.0),
    }


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
    r = _Reader(env)

    app_env = (r.text("CLUBPENGU_ENV", "development") or "development").lower()
    if app_env not in {"development", "test", "production"}:
        raise ConfigError(
            f"CLUBPENGU_ENV: expected development, test or production, got {app_env!r}"
        )
    log_level = (r.text("LOG_LEVEL", "info") or "info").lower()
    if log_level not in {"debug", "info", "warning", "error"}:
        raise ConfigError(f"LOG_LEVEL: expected debug, info, warning or error, got {log_level!r}")
    realtime = _realtime(r)
    min_pool = r.integer("MONGODB_MIN_POOL_SIZE", 10)
    max_pool = r.integer("MONGODB_MAX_POOL_SIZE", 100, minimum=1)
    if min_pool > max_pool:
        raise ConfigError("MONGODB_MIN_POOL_SIZE: must not exceed MONGODB_MAX_POOL_SIZE")

    return Settings(
        env=app_env,
        node_id=_node_id(r),
        mongodb_uri=_mongodb_uri(r),
        mongodb_db=r.text("MONGODB_DB", "clubpengu") or "clubpengu",
        mongo_max_pool_size=max_pool,
        mongo_min_pool_size=min_pool,
        mongo_server_selection_timeout_ms=r.integer(
            "MONGODB_SERVER_SELECTION_TIMEOUT_MS", 5000, minimum=1
        ),
        mongo_socket_timeout_ms=r.integer("MONGODB_SOCKET_TIMEOUT_MS", 45000, minimum=1),
        jwt_secret=r.text("JWT_SECRET", "") or "",
        jwt_expiry_seconds=r.duration("JWT_EXPIRY", 7 * 86400.0),
        data_dir=Path(r.text("CLUBPENGU_DATA_DIR", "./var/mongo") or "./var/mongo"),
        admin_wallets=_wallets(r, "ADMIN_WALLETS"),
        analyst_wallets=_wallets(r, "ANALYST_WALLETS"),
        require_wallet_auth=r.flag("REQUIRE_WALLET_AUTH", True),
        stats_batching=r.flag("STATS_BATCHING", True),
        stats_flush_interval_seconds=r.duration("STATS_FLUSH_INTERVAL", 30.0),
        max_frame_bytes=r.integer("MAX_FRAME_BYTES", 16 * 1024, minimum=256, maximum=1 << 20),
        host=r.text("HOST", "127.0.0.1") or "127.0.0.1",
        port=r.integer("PORT", 8000, minimum=0, maximum=65535),
        log_level=log_level,
        auth_domain=r.text("AUTH_DOMAIN", "clubpengu.local") or "clubpengu.local",
        auth_challenge_ttl_seconds=r.duration("AUTH_CHALLENGE_TTL", 300.0),
        auth_rate_per_ip=r.integer("AUTH_RATE_PER_IP", 60),
        auth_rate_per_connection=r.integer("AUTH_RATE_PER_CONNECTION", 10),
        trusted_proxies=_trusted_proxies(r),
        event_retention_seconds=r.duration("EVENT_RETENTION", 180 * 86400.0),
        migration_max_coins=r.integer("MIGRATION_MAX_COINS", 50_000, maximum=10**9),
        puffle_limit=r.integer("PUFFLE_LIMIT", 10, minimum=1, maximum=100),
        db_auth=r.flag("CLUBPENGU_DB_AUTH", False),
        db_app_user=_db_user(r, "MONGODB_APP_USER", "clubpengu_app"),
        db_app_password=r.text("MONGODB_APP_PASSWORD"),
        db_analyst_user=_db_user(r, "MONGODB_ANALYST_USER", "clubpengu_analyst"),
        db_analyst_password=r.text("MONGODB_ANALYST_PASSWORD"),
        daily_bonus_coins=r.integer("DAILY_BONUS_COINS", 25, minimum=0, maximum=10**9),
        match_max_wager=r.integer("MATCH_MAX_WAGER", 1000, minimum=0, maximum=10**8),
        challenge_ttl_seconds=r.duration("CHALLENGE_TTL", 60.0),
        match_turn_seconds=r.duration("MATCH_TURN_SECONDS", 30.0),
        match_disconnect_grace_seconds=r.duration("MATCH_DISCONNECT_GRACE", 15.0),
        match_sweep_interval_seconds=r.duration("MATCH_SWEEP_INTERVAL", 30.0),
        match_abandon_after_seconds=r.duration("MATCH_ABANDON_AFTER", 300.0),
        match_cache_size=r.integer("MATCH_CACHE_SIZE", 10_000, minimum=0, maximum=10**7),
        metrics_enabled=r.flag("METRICS_ENABLED", True),
        ledger_verify_interval=r.duration("LEDGER_VERIFY_INTERVAL", 6 * 3600.0, allow_zero=True),
        **realtime,
        **_redis(r, realtime["tick_rate"]),
    )


def ensure_jwt_secret(settings: Settings) -> Settings:
    """Outside production, generate JWT_SECRET once and keep it in the data directory.

    Tokens then survive a restart without any set-up. In production the secret must come
    from the environment (check_production refuses a short or missing one).
    """
    if settings.jwt_secret or settings.production:
        return settings
    path = settings.data_dir / JWT_SECRET_FILE
    if path.is_file():
        secret = path.read_text().strip()
        if secret:
            return settings.with_overrides(jwt_secret=secret)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret + "\n")
    return settings.with_overrides(jwt_secret=secret)
