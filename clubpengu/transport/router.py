"""The dispatch table from a frame's `type` to its model and handler, and the one place
that turns a frame into a reply or an error (PROTOCOL.md Conventions)."""

from __future__ import annotations

import logging
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
    UnknownType,
)
from clubpengu.realtime.connection import Connection
from clubpengu.transport.messages import Frame

logger = logging.getLogger(__name__)

M = TypeVar("M", bound=Frame)
Reply = dict[str, Any] | None
Handler = Callable[[Connection, M], Awaitable[Reply]]
MAX_RID_LENGTH = 64


@dataclass(frozen=True)
class Route(Generic[M]):
    model: type[M]
    handler: Handler[M]
    public: bool  # allowed before sign-in


def error_frame(code: ErrorCode | str, message: str, rid: Any = None) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "error", "code": str(code), "message": message}
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
    the `rid`, maps DomainError to its error code and any other exception to `internal`."""

    def __init__(self, max_frame_bytes: int) -> None:
        self.max_frame_bytes = max_frame_bytes
        self.routes: dict[str, Route[Any]] = {}

    def add(self, type_: str, model: type[M], handler: Handler[M], *, public: bool = False) -> None:
        if type_ in self.routes:
            raise ValueError(f"a handler for {type_!r} is already registered")
        self.routes[type_] = Route(model, handler, public)

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

    async def dispatch(self, connection: Connection, text: str) -> dict[str, Any] | None:
        """Handle one text frame and return the reply to send (None for no reply)."""
        rid = None
        try:
            data, rid = self.parse(text)
            kind = data.get("type")
            if not isinstance(kind, str):
                raise InvalidMessage("type must be a string")
            route = self.routes.get(kind)
            if route is None:
                raise UnknownType(f"Unknown message type {kind[:40]!r}")
            if not route.public and not connection.authenticated:
                raise NotAuthenticated()
            try:
                message = route.model.model_validate(data)
            except ValidationError as error:
                raise InvalidMessage(_first_problem(error)) from None
            reply = await route.handler(connection, message)
        except DomainError as error:
            return error_frame(error.code, error.message, rid)
        except Exception:
            logger.exception("handler failed", extra={"conn": connection.id})
            return error_frame(ErrorCode.INTERNAL, "Internal error", rid)
        if reply is not None and rid is not None:
            reply["rid"] = rid
        return reply
