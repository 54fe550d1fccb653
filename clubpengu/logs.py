"""Logging set-up: JSON lines when stderr is not a terminal, readable text when it is.

Context goes in `extra=` (conn, wallet, room, node ...); those keys appear as JSON fields.
Never pass a token, signature, private key or raw IP in a log call.

`bind_connection(id)` in the task that serves a WebSocket makes every line logged by that
task (and by the short jobs it hands to `share_connection`) carry `conn`, so a service
deep below the transport (the ledger's `economy` line) names the connection without
knowing about connections. Other tasks started meanwhile (a room's bus listener, a match
timer) inherit the context but not the binding: their lines are not about that connection.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import weakref
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import orjson

_STANDARD = set(vars(logging.makeLogRecord({}))) | {
    "message", "asctime", "taskName", "color_message"
}  # fmt: skip


_PAYLOAD_LOGGERS = ("pymongo", "uvicorn", "uvicorn.error", "websockets")


class _NoPeerAddresses(logging.Filter):
    """uvicorn logs each WebSocket handshake with the client's address and port; raw IPs
    must not reach the logs, and our own connection lines say the same without them."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.name.startswith("uvicorn") and '"WebSocket ' in str(record.msg))


_Binding = tuple[str, "weakref.WeakSet[asyncio.Task[Any]]"]
_CONNECTION: ContextVar[_Binding | None] = ContextVar("clubpengu_log_connection", default=None)


def _current_task() -> asyncio.Task[Any] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:  # no running event loop in this thread
        return None


def bind_connection(conn_id: str) -> None:
    """From now on, lines logged by the current task carry `conn=conn_id`."""
    task = _current_task()
    if task is not None:
        _CONNECTION.set((conn_id, weakref.WeakSet([task])))


def share_connection(task: asyncio.Task[Any]) -> None:
    """Let `task`, just created by a task bound to a connection, log with its `conn` too
    (a short job done for that connection, such as paying its daily bonus)."""
    bound = _CONNECTION.get()
    if bound is not None and _current_task() in bound[1]:
        bound[1].add(task)


class _ConnectionContext(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if "conn" not in record.__dict__:
            bound = _CONNECTION.get()
            if bound is not None and _current_task() in bound[1]:
                record.conn = bound[0]
        return True


class JsonFormatter(logging.Formatter):
    def __init__(self, node_id: str) -> None:
        super().__init__()
        self.node_id = node_id

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            "node": self.node_id,
        }
        for key, value in vars(record).items():
            if key not in _STANDARD:
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


class TextFormatter(logging.Formatter):
    def __init__(self, node_id: str) -> None:
        super().__init__()
        self.node_id = node_id

    def format(self, record: logging.LogRecord) -> str:
        extra = " ".join(f"{k}={v}" for k, v in vars(record).items() if k not in _STANDARD)
        line = f"{record.levelname:<7} {self.node_id} {record.name}: {record.getMessage()}"
        if extra:
            line = f"{line} [{extra}]"
        if record.exc_info:
            line = f"{line}\n{self.formatException(record.exc_info)}"
        return line


def configure_logging(level: str, node_id: str, *, json: bool | None = None) -> None:
    use_json = not sys.stderr.isatty() if json is None else json
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(node_id) if use_json else TextFormatter(node_id))
    handler.addFilter(_NoPeerAddresses())
    handler.addFilter(_ConnectionContext())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Libraries that log whole messages at debug: PyMongo its commands with their documents
    # (sign-in texts, wallets), uvicorn's WebSocket protocol every frame and header (tokens,
    # X-Forwarded-For). Never below info, whatever LOG_LEVEL says.
    for name in _PAYLOAD_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.INFO, root.level))
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    # uvicorn's "connection open/closed" lines duplicate ours, without the connection id.
    logging.getLogger("uvicorn.error").addFilter(
        lambda record: record.getMessage() not in {"connection open", "connection closed"}
    )
