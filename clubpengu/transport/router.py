"""The dispatch table from a frame's `type` to its model and handler, and the one place
that turns a frame into a reply or an error (docs/protocol.md, Conventions)."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import orjson
from pydantic import ValidationError

from clubpengu.errors import (
    BadJson,
    DomainError,
    ErrorCode,
    FrameTooLarge,
    InvalidMessage,
    NotAuthenticated,
    RateLimited,
    UnknownType,
)
from clubpengu.metrics import UNKNOWN, Metrics
from clubpengu.realtime.connection import Connection
from clubpengu.services.message_budget import MessageBudget
from clubpengu.transport.limits import ConnectionLimits, LimitsConfig
from clubpengu.transport.messages import Frame
from clubpengu.transport.outage import MESSAGE as UNAVAILABLE_MESSAGE
from clubpengu.transport.outage import is_outage, log_outage

logger = logging.getLogger(__name__)

M = TypeVar("M", bound=Frame)
Reply = dict[str, Any] | None
Handler = Callable[[Connection, M], Awaitable[Reply]]
MAX_RID_LENGTH = 64
WS_1008_POLICY_VIOLATION = 1008
_RATE_NAMES = {"move": "moves", "chat": "chat messages", "emote": "emotes"}


@dataclass(frozen=True)
class Route(Generic[M]):
    model: type[M]
    handler: Handler[M]
    public: bool  # allowed before sign-in
    ack: bool  # no reply of its own: answer {"type":"ok"} when the client sent a rid
    # Worth handling only for its reply (a sign-in, a join): dropped unhandled when the
    # client has closed the socket before the frame's turn came (`abandoned`).
    abandonable: bool = False


def error_frame(
    code: ErrorCode | str, message: str, rid: Any = None, **fields: Any
) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "error", "code": str(code), "message": message, **fields}
    if rid is not None:
        frame["rid"] = rid
    return frame


def _first_problem(error: ValidationError) -> str:
    # Name the field and the rule, never echo the input back.
    problem = error.errors(include_input=False, include_url=False)[0]
    where = ".".join(str(part) for part in problem["loc"]) or "message"
    return f"{where}: {problem['msg']}"


def _valid_rid(rid: Any) -> bool:
    if isinstance(rid, bool):
        return False
    if isinstance(rid, int):
        return len(str(rid)) <= MAX_RID_LENGTH
    return isinstance(rid, str) and len(rid) <= MAX_RID_LENGTH


class Router:
    """Frames in, replies out. Handlers return the direct reply (or None); this class adds
    the `rid`, maps DomainError to its error code, a database out of reach to
    `unavailable` (transport/outage.py) and any other exception to `internal`,
    and applies the per-connection message limits (transport/limits.py)."""

    def __init__(
        self,
        max_frame_bytes: int,
        limits: LimitsConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
        metrics: Metrics | None = None,
        budget: MessageBudget | None = None,
    ) -> None:
        self.max_frame_bytes = max_frame_bytes
        self.metrics = metrics or Metrics()
        self.routes: dict[str, Route[Any]] = {}
        self.limits = limits
        self.clock = clock
        self._limits: dict[str, ConnectionLimits] = {}
        # The address's budget (MESSAGE_RATE_PER_IP): the node's, shared across nodes
        # when it was given one built with shared counters (services/message_budget.py).
        if budget is None and limits is not None and limits.per_address.enabled:
            budget = MessageBudget(limits.per_address, clock=clock)
        self._per_address = budget if budget is not None and budget.enabled else None

    def add(
        self,
        type_: str,
        model: type[M],
        handler: Handler[M],
        *,
        public: bool = False,
        ack: bool = False,
        abandonable: bool = False,
    ) -> None:
        if type_ in self.routes:
            raise ValueError(f"a handler for {type_!r} is already registered")
        self.routes[type_] = Route(model, handler, public, ack, abandonable)

    def forget(self, connection: Connection) -> None:
        """Drop the connection's limit state (it has closed)."""
        self._limits.pop(connection.id, None)

    def parse(self, text: str) -> tuple[dict[str, Any], Any]:
        """Check size and JSON; return the object and its rid. Raises DomainError."""
        if len(text) * 4 > self.max_frame_bytes and len(text.encode()) > self.max_frame_bytes:
            raise FrameTooLarge(f"Frames are limited to {self.max_frame_bytes} bytes")
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError:
            raise BadJson("The frame is not valid JSON") from None
        if not isinstance(data, dict):
            raise BadJson("The frame must be a JSON object")
        rid = data.get("rid")
        if rid is not None and not _valid_rid(rid):
            raise InvalidMessage("rid must be a string or integer of at most 64 characters")
        return data, rid

    def _connection_limits(self, connection: Connection) -> ConnectionLimits | None:
        if self.limits is None:
            return None
        limits = self._limits.get(connection.id)
        if limits is None:
            limits = self._limits[connection.id] = ConnectionLimits(self.limits, self.clock)
        return limits

    def check_rate(self, connection: Connection, kind: str) -> None:
        """Raise RateLimited when the connection is over its limit for `kind`; mark it for
        closing (1008) when it has been over the limit for too long."""
        limits = self._connection_limits(connection)
        if limits is None:
            return
        if not limits.allow(kind):
            message = f"Too many {_RATE_NAMES.get(kind, 'messages')}; slow down"
        elif self._per_address is not None and not self._per_address.allow(connection.ip):
            limits.refused()
            message = "Too many messages from your address; slow down"
        else:
            return
        self.metrics.rate_limited()
        if limits.abusive and connection.close_after_reply is None:
            logger.warning("closing an abusive connection", extra={"conn": connection.id})
            connection.close_after_reply = (WS_1008_POLICY_VIOLATION, "rate limit exceeded")
        raise RateLimited(message)

    def _parse_counted(self, connection: Connection, text: str) -> tuple[dict[str, Any], Any]:
        try:
            return self.parse(text)
        except FrameTooLarge:
            limits = self._connection_limits(connection)
            if limits is not None and limits.oversized():
                logger.warning("closing after oversized frames", extra={"conn": connection.id})
                connection.close_after_reply = (WS_1008_POLICY_VIOLATION, "frames too large")
            raise
        except DomainError:
            self.check_rate(connection, "")  # garbage counts as messages too
            raise

    def refuse_binary(self, connection: Connection) -> dict[str, Any]:
        """The reply to a binary frame: refused with `invalid_message` (docs/protocol.md)."""
        self.metrics.message_in(UNKNOWN)
        try:
            self.check_rate(connection, "")
        except RateLimited as error:
            return error_frame(error.code, error.message)
        return error_frame(
            ErrorCode.INVALID_MESSAGE, "Binary frames are not accepted; send JSON text"
        )

    async def dispatch(self, connection: Connection, text: str) -> dict[str, Any] | None:
        """Handle one text frame and return the reply to send (None for no reply)."""
        rid = None
        counted = False
        connection.requests += 1
        try:
            data, rid = self._parse_counted(connection, text)
            kind = data.get("type")
            if not isinstance(kind, str):
                kind = None
            route = self.routes.get(kind) if kind is not None else None
            # Only a registered type is a label value; anything else is `unknown`.
            self.metrics.message_in(kind if kind is not None and route is not None else UNKNOWN)
            counted = True
            if not self._admitted(connection, kind, route):
                return None
            assert route is not None
            try:
                message = route.model.model_validate(data)
            except ValidationError as error:
                raise InvalidMessage(_first_problem(error)) from None
            reply = await route.handler(connection, message)
        except DomainError as error:
            if not counted:  # too large, not JSON, not an object
                self.metrics.message_in(UNKNOWN)
            return error_frame(error.code, error.message, rid, **error.wire_fields())
        except Exception as error:
            return _unexpected(error, connection, rid)
        if rid is not None:
            if reply is None and route.ack:
                reply = {"type": "ok"}
            if reply is not None:
                reply["rid"] = rid
        return reply

    def _admitted(self, connection: Connection, kind: str | None, route: Route[Any] | None) -> bool:
        """Whether the frame goes to its handler. Raises InvalidMessage, RateLimited,
        UnknownType, NotAuthenticated. False (no reply, no work) for a request worth only
        its reply whose client has gone: one that gave up (closed while its sign-in or
        join waited to be read, as many do when a storm of arrivals makes them wait)
        gets nothing done for it, which would land on the players still waiting."""
        if kind is None:
            raise InvalidMessage("type must be a string")
        self.check_rate(connection, kind)
        if route is None:
            raise UnknownType(f"Unknown message type {kind[:40]!r}")
        if route.abandonable and connection.peer_gone():
            self.metrics.request_abandoned()
            logger.info("request abandoned", extra={"conn": connection.id, "type": kind})
            return False
        if not route.public and not connection.authenticated:
            raise NotAuthenticated()
        return True


def _unexpected(error: Exception, connection: Connection, rid: Any) -> dict[str, Any]:
    """The reply to a handler's failure that is not a DomainError."""
    if is_outage(error):  # the database is out of reach: try again, not a bug
        log_outage(error, conn=connection.id)
        return error_frame(ErrorCode.UNAVAILABLE, UNAVAILABLE_MESSAGE, rid)
    logger.exception("handler failed", extra={"conn": connection.id})
    return error_frame(ErrorCode.INTERNAL, "Internal error", rid)
