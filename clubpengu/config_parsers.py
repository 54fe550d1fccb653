"""How one environment variable's text becomes a typed value, and `setting()`, which
declares a field of Settings together with its variable, parser and meaning.

A parser is called only when its variable is set; it gets the variable's name, its raw
text and the field's default, and returns the value or raises `ConfigError` with one line
that starts with the name. Blank text means the default, except where a parser says so.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Generic, TypeAlias, TypeVar

from clubpengu.games.catalog import ALL_GAMES

T = TypeVar("T")
Parser: TypeAlias = Callable[[str, str, T], T]
Network: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network
# Coins per game id, sorted by game; the one pair (ALL_GAMES, n) gives every game n.
GameAmounts: TypeAlias = tuple[tuple[str, int], ...]
SETTING = "clubpengu.setting"  # the key of a field's declaration in its metadata

# At most 12 digits: a longer number is no duration, and Python refuses to read an int of
# more than 4,300 digits (a ValueError, not a clear refusal).
_DURATION = re.compile(r"^\s*(\d{1,12})\s*(ms|s|m|h|d)?\s*$")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}
_RATE = re.compile(r"^\s*(?:0|(\d{1,12})\s*/\s*(\d{0,12})\s*(ms|s|m|h))\s*$")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_ZERO_DURATIONS = {"0", "0s", "0ms"}
# A century: longer than anything a server waits for, and far inside what `timedelta` and
# a datetime can add (a duration past theirs raised OverflowError: a 500, not a refusal).
MAX_DURATION_SECONDS = 36_500 * 86_400.0
_IDENTIFIER = re.compile(r"[A-Za-z0-9_.-]{1,64}")
PHRASE = re.compile(r"[\w' -]{1,40}")


class ConfigError(Exception):
    """A configuration value is missing or invalid; the message names the variable."""


@dataclass(frozen=True)
class Rate:
    """`count` events per `seconds`; a count of 0 turns the limit off."""

    count: int
    seconds: float

    @property
    def enabled(self) -> bool:
        return self.count > 0


@dataclass(frozen=True)
class Setting(Generic[T]):
    """What Settings declares about one field: its variable, parser and one-line meaning."""

    variable: str
    parse: Parser[T]
    meaning: str
    # Other names the variable is read under (an older server's), never two at once.
    aliases: tuple[str, ...] = ()


def setting(
    variable: str,
    default: T,
    parse: Parser[T],
    meaning: str,
    *,
    secret: bool = False,
    aliases: tuple[str, ...] = (),
) -> T:
    """A field of Settings read from `variable` (or one of its `aliases`). Typed as its
    value, so that mypy checks the default and the parser against the field's annotation;
    a `secret` is kept out of the repr."""
    declared = Setting(variable, parse, meaning, aliases)
    value: T = field(default=default, repr=not secret, metadata={SETTING: declared})
    return value


def declared(metadata: Any) -> Setting[Any] | None:
    found: Setting[Any] | None = metadata.get(SETTING)
    return found


def _blank(raw: str) -> bool:
    return raw.strip() == ""


def _words(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]


def parse_duration(name: str, raw: str) -> float:
    """`30`, `30s`, `5m`, `7d`, `250ms` -> seconds (> 0, at most a century). Raises
    ConfigError naming `name`, never echoing more than 40 characters of `raw`."""
    match = _DURATION.match(raw)
    if not match or int(match.group(1)) <= 0:
        raise ConfigError(
            f"{name}: expected a positive duration like 30s, 5m or 7d, got {raw[:40]!r}"
        )
    seconds = int(match.group(1)) * _DURATION_UNITS[match.group(2)]
    if seconds > MAX_DURATION_SECONDS:
        raise ConfigError(f"{name}: at most 36500d")
    return seconds


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


def text(name: str, raw: str, default: str) -> str:
    return default if _blank(raw) else raw.strip()


def optional_text(name: str, raw: str, default: str | None) -> str | None:
    return default if _blank(raw) else raw.strip()


def path(name: str, raw: str, default: Path) -> Path:
    return default if _blank(raw) else Path(raw.strip())


def optional_path(name: str, raw: str, default: Path | None) -> Path | None:
    return default if _blank(raw) else Path(raw.strip())


def flag(name: str, raw: str, default: bool) -> bool:
    """`true`/`false` and their usual spellings; set but empty means false."""
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigError(f"{name}: expected true or false, got {raw!r}")


def rate(name: str, raw: str, default: Rate) -> Rate:
    return default if _blank(raw) else parse_rate(name, raw.strip())


def choice(*options: str) -> Parser[str]:
    """One of `options`, in any case."""
    listed = f"{', '.join(options[:-1])} or {options[-1]}"

    def parse(name: str, raw: str, default: str) -> str:
        value = text(name, raw, default).lower()
        if value not in options:
            raise ConfigError(f"{name}: expected {listed}, got {value!r}")
        return value

    return parse


def identifier(*, echo: bool) -> Parser[str]:
    """1-64 letters, digits, `_`, `.` or `-` (it names a Redis channel or a database user);
    `echo` repeats a refused value in the message."""

    def parse(name: str, raw: str, default: str) -> str:
        value = text(name, raw, default)
        if not _IDENTIFIER.fullmatch(value):
            got = f", got {value!r}" if echo else ""
            raise ConfigError(f"{name}: use 1-64 letters, digits, '_', '.' or '-'{got}")
        return value

    return parse


def uri(*schemes: str) -> Parser[str | None]:
    """A URI starting with one of `schemes`; blank: unset."""
    listed = f"{', '.join(schemes[:-1])} or {schemes[-1]}"

    def parse(name: str, raw: str, default: str | None) -> str | None:
        value = optional_text(name, raw, default)
        if value is not None and not value.startswith(schemes):
            raise ConfigError(f"{name}: must start with {listed}")
        return value

    return parse


def _integer(name: str, raw: str, minimum: int, maximum: int | None) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(f"{name}: expected an integer, got {raw.strip()!r}") from None
    if value < minimum or (maximum is not None and value > maximum):
        upper = f" and {maximum}" if maximum is not None else ""
        raise ConfigError(f"{name}: must be between {minimum}{upper}, got {value}")
    return value


def integer(minimum: int = 0, maximum: int | None = None) -> Parser[int]:
    def parse(name: str, raw: str, default: int) -> int:
        return default if _blank(raw) else _integer(name, raw, minimum, maximum)

    return parse


def optional_integer(minimum: int, maximum: int) -> Parser[int | None]:
    def parse(name: str, raw: str, default: int | None) -> int | None:
        return default if _blank(raw) else _integer(name, raw, minimum, maximum)

    return parse


def whole_float(minimum: int, maximum: int) -> Parser[float]:
    """An integer in the environment, a float in Settings (a rate in hertz)."""

    def parse(name: str, raw: str, default: float) -> float:
        return default if _blank(raw) else float(_integer(name, raw, minimum, maximum))

    return parse


def duration(*, allow_zero: bool = False) -> Parser[float]:
    """Seconds from `30s`, `5m`, `7d`, `250ms`; `0` only where `allow_zero` turns a thing off."""

    def parse(name: str, raw: str, default: float) -> float:
        if _blank(raw):
            return default
        if allow_zero and raw.strip() in _ZERO_DURATIONS:
            return 0.0
        return parse_duration(name, raw.strip())

    return parse


def game_amounts(games: Iterable[str], maximum: int) -> Parser[GameAmounts]:
    """Coins per game: `tictactoe=12,connect_four=25` (a game not named keeps its default
    from the games catalogue) or one number for every game (`0`: none). Blank: every
    game's default."""
    known = sorted(games)

    def parse(name: str, raw: str, default: GameAmounts) -> GameAmounts:
        if _blank(raw):
            return default
        value = raw.strip()
        if "=" not in value:
            return ((ALL_GAMES, _integer(name, value, 0, maximum)),)
        amounts: dict[str, int] = {}
        for part in value.split(","):
            game, sep, amount = part.partition("=")
            game = game.strip()
            if not sep or game not in known:
                raise ConfigError(
                    f"{name}: expected game=coins pairs of {', '.join(known)}, got {part.strip()!r}"
                )
            if game in amounts:
                raise ConfigError(f"{name}: {game} is named twice")
            amounts[game] = _integer(name, amount, 0, maximum)
        return tuple(sorted(amounts.items()))

    return parse


def optional_moment(name: str, raw: str, default: datetime | None) -> datetime | None:
    """An ISO date (`2027-03-01`, midnight UTC) or date and time (`2027-03-01T18:00Z`; a
    time without a zone is UTC); blank: unset."""
    if _blank(raw):
        return default
    text = raw.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(
            f"{name}: expected an ISO date like 2027-03-01 or 2027-03-01T18:00Z, got {raw!r}"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def wallets(name: str, raw: str, default: frozenset[str]) -> frozenset[str]:
    """Comma-separated base58 Solana wallet addresses."""
    import base58

    listed = _words(raw)
    for wallet in listed:
        try:
            valid = len(base58.b58decode(wallet)) == 32
        except ValueError:
            valid = False
        if not valid:
            raise ConfigError(f"{name}: {wallet!r} is not a base58 Solana wallet address")
    return frozenset(listed)


def networks(name: str, raw: str, default: tuple[Network, ...]) -> tuple[Network, ...]:
    """Comma-separated IP addresses or networks."""
    found = []
    for item in _words(raw):
        try:
            found.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ConfigError(f"{name}: {item!r} is not an IP address or network") from None
    return tuple(found)


def phrases(name: str, raw: str, default: tuple[str, ...]) -> tuple[str, ...]:
    """Comma-separated words or phrases, lower-cased; set but empty: none at all."""
    words = [word.lower() for word in _words(raw)]
    for word in words:
        if not PHRASE.fullmatch(word):
            raise ConfigError(f"{name}: {word!r} is not a plain word or phrase")
    return tuple(words)


_ORIGIN = re.compile(r"(https?)://([a-z0-9.-]+|\[[0-9a-f:.]+\])(?::(\d{1,5}))?")
_DEFAULT_PORTS = {"http": "80", "https": "443"}


def normal_origin(text: str) -> str | None:
    """`scheme://host[:port]` lower-cased, without a default port; None if it is not a
    web origin (paths, userinfo and `null` are not)."""
    match = _ORIGIN.fullmatch(text.strip().lower())
    if match is None:
        return None
    scheme, host, port = match.groups()
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def origins(name: str, raw: str, default: tuple[str, ...]) -> tuple[str, ...]:
    """Comma-separated web origins (`https://play.example.com`), or `*` for any."""
    found = []
    for item in _words(raw):
        origin = "*" if item == "*" else normal_origin(item)
        if origin is None:
            raise ConfigError(f"{name}: {item!r} is not an origin like https://example.com")
        found.append(origin)
    return tuple(found)
