"""Domain errors and the protocol's error codes: the one place those codes live.

Services raise a `DomainError`; the transport turns it into
`{"type":"error","code":...,"message":...}`. `str(error)` is safe to show a player;
`repr(error)` carries the data for logs.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import Any


class ErrorCode(StrEnum):
    BAD_JSON = "bad_json"
    UNKNOWN_TYPE = "unknown_type"
    INVALID_MESSAGE = "invalid_message"
    NOT_AUTHENTICATED = "not_authenticated"
    NOT_IN_ROOM = "not_in_room"
    RATE_LIMITED = "rate_limited"
    FRAME_TOO_LARGE = "frame_too_large"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    NOT_FOUND = "not_found"
    FORBIDDEN = "forbidden"
    CONFLICT = "conflict"
    INTERNAL = "internal"
    ROOM_FULL = "room_full"
    EXPIRED = "expired"
    UNAVAILABLE = "unavailable"
    BANNED = "banned"
    MUTED = "muted"
    MIGRATION_CLOSED = "migration_closed"
    WAGER_LOCKED = "wager_locked"
    WAGER_LIMIT = "wager_limit"
    ERASURE_IN_PROGRESS = "erasure_in_progress"
    BUDDY_LIMIT = "buddy_limit"
    IGNORE_LIMIT = "ignore_limit"
    REQUEST_TIMEOUT = "request_timeout"  # HTTP only: a request body that arrived too slowly


class CloseCode(IntEnum):
    CLOSE_1000_NORMAL = 1000
    CLOSE_1001_GOING_AWAY = 1001
    CLOSE_1008_POLICY_VIOLATION = 1008
    CLOSE_1011_INTERNAL_ERROR = 1011
    CLOSE_4001_REPLACED = 4001
    CLOSE_4003_SESSION_ENDED = 4003


class DomainError(Exception):
    """Base of every error a service raises on purpose."""

    code: ErrorCode = ErrorCode.INTERNAL
    default_message = "Something went wrong"

    def __init__(self, message: str | None = None, **data: Any) -> None:
        self.message = message or self.default_message
        self.data = data
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message

    def wire_fields(self) -> dict[str, Any]:
        """Fields the error frame (and HTTP body) carries besides code and message."""
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, {self.data!r})"


class InvalidMessage(DomainError):
    code = ErrorCode.INVALID_MESSAGE
    default_message = "The message is not valid"


class BadJson(DomainError):
    code = ErrorCode.BAD_JSON
    default_message = "The frame is not a JSON object"


class UnknownType(DomainError):
    code = ErrorCode.UNKNOWN_TYPE
    default_message = "Unknown message type"


class FrameTooLarge(DomainError):
    code = ErrorCode.FRAME_TOO_LARGE
    default_message = "The frame is too large"


class NotAuthenticated(DomainError):
    code = ErrorCode.NOT_AUTHENTICATED
    default_message = "Sign in first"


class NotInRoom(DomainError):
    code = ErrorCode.NOT_IN_ROOM
    default_message = "Join a room first"


class RateLimited(DomainError):
    code = ErrorCode.RATE_LIMITED
    default_message = "Too many requests; slow down"


class InsufficientFunds(DomainError):
    code = ErrorCode.INSUFFICIENT_FUNDS
    default_message = "Not enough coins"


class NotFound(DomainError):
    code = ErrorCode.NOT_FOUND
    default_message = "Not found"


class Forbidden(DomainError):
    code = ErrorCode.FORBIDDEN
    default_message = "Not allowed"


class Conflict(DomainError):
    code = ErrorCode.CONFLICT
    default_message = "Conflicts with the current state"


class RoomFull(DomainError):
    code = ErrorCode.ROOM_FULL
    default_message = "The room is full"


class Expired(DomainError):
    code = ErrorCode.EXPIRED
    default_message = "This has expired"


class Unavailable(DomainError):
    code = ErrorCode.UNAVAILABLE
    default_message = "The service is temporarily unavailable; try again"


class _Sanctioned(DomainError):
    """A ban or mute in force: the frame says until when (`until`: ISO-8601, or None for
    one that lasts until a staff member lifts it)."""

    def __init__(self, until: str | None, message: str | None = None) -> None:
        ending = f"until {until}" if until is not None else "until a moderator lifts it"
        super().__init__(message or f"{self.default_message} {ending}", until=until)

    def wire_fields(self) -> dict[str, Any]:
        return {"until": self.data["until"]}


class Banned(_Sanctioned):
    code = ErrorCode.BANNED
    default_message = "This account is banned"


class Muted(_Sanctioned):
    code = ErrorCode.MUTED
    default_message = "You are muted"


class ErasureInProgress(DomainError):
    """The wallet's data is being erased (services/erasure.py): it may sign in again, as a
    new player, once that is done."""

    code = ErrorCode.ERASURE_IN_PROGRESS
    default_message = "This account's data is being erased; try again in a few minutes"


class MigrationClosed(DomainError):
    """Migration is switched off, past MIGRATION_UNTIL, or past this wallet's window."""

    code = ErrorCode.MIGRATION_CLOSED
    default_message = "Bringing a save is closed"


class WagerLocked(DomainError):
    """A player of a wagered challenge is too new or has not played enough free matches."""

    code = ErrorCode.WAGER_LOCKED
    default_message = "Wagers are not open to this account yet"


class WagerLimit(DomainError):
    """The wager would pass a daily limit (between the pair, or what one wallet may win)."""

    code = ErrorCode.WAGER_LIMIT
    default_message = "This wager would pass today's wager limit"


class BuddyLimit(DomainError):
    """A buddy list (the player's, or the other's on accepting) holds BUDDY_LIMIT buddies."""

    code = ErrorCode.BUDDY_LIMIT
    default_message = "Your buddy list is full"


class IgnoreLimit(DomainError):
    """The ignore list holds IGNORE_LIMIT wallets."""

    code = ErrorCode.IGNORE_LIMIT
    default_message = "Your ignore list is full"
