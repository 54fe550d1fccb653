"""The logging set-up (clubpengu/logs.py): `conn` on the lines of a connection's own task
and of the short jobs it shares, not of other tasks it starts; payload loggers held at info."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator

import pytest

from clubpengu.logs import bind_connection, configure_logging, share_connection

logger = logging.getLogger("clubpengu.test_log_context")


@pytest.fixture
def json_logging() -> Iterator[io.StringIO]:
    """configure_logging as `clubpengu serve` calls it, its handler writing to a buffer;
    undone afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    quieted = {name: logging.getLogger(name).level for name in ("pymongo", "uvicorn", "websockets")}
    configure_logging("debug", "node-t", json=True)
    buffer = io.StringIO()
    [handler] = root.handlers
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(buffer)
    try:
        yield buffer
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, previous in quieted.items():
            logging.getLogger(name).setLevel(previous)


def _lines(text: str) -> dict[str, dict[str, object]]:
    records = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    return {str(r["msg"]): r for r in records if str(r["logger"]).endswith("test_log_context")}


async def test_a_connection_s_lines_carry_its_conn_and_other_tasks_lines_do_not(
    json_logging: io.StringIO,
) -> None:
    async def job(msg: str) -> None:
        logger.info(msg)

    async def serve_connection() -> list[asyncio.Task[None]]:
        bind_connection("c7")
        logger.info("in the connection's task")
        logger.info("naming another", extra={"conn": "c9"})
        shared = asyncio.create_task(job("a job shared with the connection"))
        share_connection(shared)
        started = asyncio.create_task(job("a task the connection started"))
        return [shared, started]

    tasks = await asyncio.create_task(serve_connection())
    await asyncio.gather(*tasks, asyncio.create_task(job("an unrelated task")))
    logger.info("outside any connection")

    lines = _lines(json_logging.getvalue())
    assert lines["in the connection's task"]["conn"] == "c7"
    assert lines["naming another"]["conn"] == "c9"
    assert lines["a job shared with the connection"]["conn"] == "c7"
    for msg in ("a task the connection started", "an unrelated task", "outside any connection"):
        assert "conn" not in lines[msg], msg
    assert {r["node"] for r in lines.values()} == {"node-t"}


def test_libraries_that_log_payloads_stay_at_info_even_at_debug(
    json_logging: io.StringIO,
) -> None:
    assert logging.getLogger("clubpengu.services.economy").isEnabledFor(logging.DEBUG)
    for name in ("pymongo.command", "pymongo.connection", "uvicorn.error", "websockets.server"):
        assert not logging.getLogger(name).isEnabledFor(logging.DEBUG), name
        assert logging.getLogger(name).isEnabledFor(logging.INFO), name
