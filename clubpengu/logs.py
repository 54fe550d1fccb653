"""Logging set-up: JSON lines when stderr is not a terminal, readable text when it is.

Context goes in `extra=` (conn, wallet, room, node ...); those keys appear as JSON fields.
Never pass a token, signature, private key or raw IP in a log call.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any

import orjson

_STANDARD = set(vars(logging.makeLogRecord({}))) | {
    "message", "asctime", "taskName", "color_message"
}  # fmt: skip


class _NoPeerAddresses(logging.Filter):
    """uvicorn logs each WebSocket handshake with the client's address and port; raw IPs
    must not reach the logs, and our own connection lines say the same without them."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.name.startswith("uvicorn") and '"WebSocket ' in str(record.msg))


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
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    # uvicorn's "connection open/closed" lines duplicate ours, without the connection id.
    logging.getLogger("uvicorn.error").addFilter(
        lambda record: record.getMessage() not in {"connection open", "connection closed"}
    )
