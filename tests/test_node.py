"""One node built from Settings (clubpengu/node.py): it needs nothing of the web layer, and
it stops its parts in the order that loses nothing."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from clubpengu.config import Settings
from clubpengu.models import User
from tests.conftest import TEST_DB
from tests.support import Wallet, enter, run_server

# Today's shutdown sequence (and its reasons, in Node.stop's docstring and comments): the
# final stats flush (which also sets where each player stood) right after the leaves that
# queue the last counters, before anything else that may wait for the database; then the
# presence of every player left in one command; the database last.
STOP_ORDER = [
    "sockets",
    "graces",
    "stats",
    "presence",
    "matches",
    "loops",
    "relay",
    "directory",
    "connection-log",
    "sessions",
    "outside-notices",
    "buddies",
    "background",
    "events",
    "chat-log",
    "bus",
    "database",
]


async def test_a_chat_line_said_just_before_the_node_stops_is_kept(
    settings: Settings, mongo_client: AsyncMongoClient[dict[str, Any]]
) -> None:
    async with run_server(settings, mongo_client) as server:
        client, _, _ = await enter(server.ws_url, Wallet(), room="plaza")
        await client.call({"type": "chat", "text": "last words"})

    lines = await mongo_client[TEST_DB]["chat_lines"].find({}).to_list()
    assert [(line["room"], line["sent"]) for line in lines] == [("plaza", "last words")]


def test_the_node_and_the_services_load_nothing_of_the_web_layer() -> None:
    code = (
        "import sys, pkgutil, importlib, clubpengu.services\n"
        "import clubpengu.node, clubpengu.parts, clubpengu.monitors\n"
        "for info in pkgutil.walk_packages(clubpengu.services.__path__, 'clubpengu.services.'):\n"
        "    importlib.import_module(info.name)\n"
        "web = sorted(m for m in sys.modules if m.split('.')[0] in ('starlette', 'uvicorn')\n"
        "             or m.startswith('clubpengu.transport'))\n"
        "print(','.join(web))\n"
    )

    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()

    assert loaded == ""


async def test_a_stopping_node_closes_the_sockets_before_it_flushes_and_the_database_last(
    settings: Settings,
    mongo_client: AsyncMongoClient[dict[str, Any]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    wallet = Wallet()
    caplog.set_level(logging.DEBUG, logger="clubpengu.node")
    async with run_server(settings, mongo_client) as server:
        client, _, _ = await enter(server.ws_url, wallet, room="plaza")
        await client.call({"type": "move", "x": 300, "y": 300})

    steps = [r.__dict__["step"] for r in caplog.records if r.getMessage() == "stopping"]
    stored = await mongo_client[TEST_DB]["users"].find_one({"walletAddress": wallet.address})
    assert steps == STOP_ORDER
    # The socket closed with 1001 (its leave recorded), then the stats were flushed: the
    # step it queued on the way out is in the database.
    assert stored is not None
    assert stored["stats"]["world"]["steps"] == 1
    user = await User.find_one(User.wallet_address == wallet.address)
    assert user is not None and user.last_room == "plaza"


async def test_a_step_that_overruns_the_shutdown_deadline_is_cut_off_and_the_rest_still_run(
    settings: Settings,
    mongo_client: AsyncMongoClient[dict[str, Any]],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One deadline for the whole stop: a step still running when what is left of it runs
    out is cut off (a warning), and the steps after it still run, with what is left."""
    wallet = Wallet()
    caplog.set_level(logging.DEBUG, logger="clubpengu.node")
    async with run_server(settings, mongo_client) as server:
        client, _, _ = await enter(server.ws_url, wallet, room="plaza")
        await client.call({"type": "move", "x": 300, "y": 300})
        node = server.node
        never = asyncio.Event()

        async def stuck() -> None:
            await never.wait()  # an event-history flush that never ends

        monkeypatch.setattr(node.services.events, "stop", stuck)
        node.stop_deadline = asyncio.get_running_loop().time() + 3.0

    steps = [r.__dict__["step"] for r in caplog.records if r.getMessage() == "stopping"]
    cut = [r.__dict__["step"] for r in caplog.records if r.getMessage() == "shutdown step cut off"]
    stored = await mongo_client[TEST_DB]["users"].find_one({"walletAddress": wallet.address})
    assert steps == STOP_ORDER
    # Those after it had what was left: little, but enough on a machine that is not busy.
    assert cut[:1] == ["events"]
    assert stored is not None and stored["stats"]["world"]["steps"] == 1


async def test_a_step_that_fails_is_logged_and_the_rest_still_run_to_the_database_s_close(
    settings: Settings,
    mongo_client: AsyncMongoClient[dict[str, Any]],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG, logger="clubpengu.node")
    async with run_server(settings, mongo_client) as server:
        node = server.node

        async def broken() -> None:
            raise RuntimeError("a bug in the event history's stop")

        monkeypatch.setattr(node.services.events, "stop", broken)
        closed: list[float] = []
        close = node.database.close

        async def recorded_close(within: float) -> None:
            closed.append(within)
            await close(within)

        monkeypatch.setattr(node.database, "close", recorded_close)

    steps = [r.__dict__["step"] for r in caplog.records if r.getMessage() == "stopping"]
    failed = [r for r in caplog.records if r.getMessage() == "shutdown step failed"]
    assert steps == STOP_ORDER
    assert [r.__dict__["step"] for r in failed] == ["events"] and failed[0].levelname == "ERROR"
    assert len(closed) == 1
