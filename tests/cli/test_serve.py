"""`clubpengu serve` as a real process: start-up, graceful shutdown, persistence, orphans."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from pathlib import Path
from typing import Any

import pytest
import websockets
from pymongo import MongoClient

from clubpengu.config import Settings
from tests.support import (
    Client,
    Wallet,
    enter,
    pid_alive,
    serving,
    start_serve,
    stop_serve,
    wait_healthy,
)
from tests.waiting import wait_until

pytestmark = pytest.mark.slow


def _database_pid(data_dir: Path) -> int:
    return int((data_dir / "secantusd.pid").read_text())


def test_data_survives_a_restart_on_the_same_data_directory(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with serving(data_dir) as first:
        uri = f"mongodb://127.0.0.1:{first.embedded_port()}/?directConnection=true"
        with MongoClient(uri) as client:
            client.clubpengu.users.insert_one({"walletAddress": "W", "username": "Penguin0001"})
        secret = (data_dir / "jwt_secret").read_text()

    with serving(data_dir) as second:
        uri = f"mongodb://127.0.0.1:{second.embedded_port()}/?directConnection=true"
        with MongoClient(uri) as client:
            found = client.clubpengu.users.find_one({"walletAddress": "W"})

    assert found is not None and found["username"] == "Penguin0001"
    assert (data_dir / "jwt_secret").read_text() == secret


def test_sigterm_closes_sockets_with_1001_and_exits_within_10_s(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with serving(data_dir) as serve:
        database_pid = _database_pid(data_dir)

        async def scenario() -> tuple[Any, float]:
            async with websockets.connect(f"ws://127.0.0.1:{serve.port}/ws") as ws:
                await ws.send(json.dumps({"type": "ping"}))
                await ws.recv()
                started = time.monotonic()
                serve.process.send_signal(signal.SIGTERM)
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    await asyncio.wait_for(ws.recv(), 10)
                return closed.value.rcvd, started

        received, started = asyncio.run(scenario())
        code = serve.process.wait(10)
        elapsed = time.monotonic() - started

    assert received is not None and received.code == 1001
    # uvicorn re-raises the SIGTERM it caught once shutdown has finished, as init systems
    # expect; the log shows the shutdown ran to completion.
    assert code in (0, -signal.SIGTERM)
    assert any(r.get("msg") == "node stopped" for r in serve.log_records())
    assert elapsed < 10
    assert not pid_alive(database_pid)


PLAYERS = 12  # under MAX_CONNECTIONS_PER_IP and NEW_ACCOUNTS_PER_IP_PER_DAY


async def _close_code(client: Client) -> int | None:
    try:
        while True:
            await asyncio.wait_for(client.ws.recv(), 15)
    except websockets.ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd is not None else None


def test_sigterm_with_players_in_a_room_writes_their_counters_and_logs_no_error(
    tmp_path: Path,
) -> None:
    """What the shutdown deadline promises (node.py, Node.stop), told from outside: every
    socket closed with 1001, the final stats flush written with every player's counters
    (its flush is the first step of the node's stop), no ERROR line and no traceback (a
    socket task cut off by uvicorn's wait returns quietly), and a clean exit."""
    data_dir = tmp_path / "data"
    env = {"STATS_FLUSH_INTERVAL": "1h", "AUTH_RATE_PER_IP": "0"}
    with serving(data_dir, env) as serve:

        async def scenario() -> list[int | None]:
            url = f"ws://127.0.0.1:{serve.port}/ws"
            clients = [(await enter(url, Wallet(), room="town"))[0] for _ in range(PLAYERS)]
            for client in clients:
                await client.call({"type": "move", "x": 300, "y": 300})
            serve.process.send_signal(signal.SIGTERM)
            return list(await asyncio.gather(*(_close_code(c) for c in clients)))

        codes = asyncio.run(scenario())
        code = serve.process.wait(20)
        records = serve.log_records()
        log = serve.log()

    flushed = [r["msg"] for r in records if str(r.get("msg", "")).startswith("stats flushed")]
    assert code in (0, -signal.SIGTERM)
    assert codes == [1001] * PLAYERS
    assert flushed and flushed[-1].startswith(f"stats flushed: {PLAYERS} players"), flushed
    assert [r for r in records if r.get("level") in ("error", "critical")] == []
    assert "Traceback" not in log and "Exception in ASGI application" not in log
    assert any(r.get("msg") == "node stopped" for r in records)


def test_ctrl_c_stops_the_server_cleanly_without_a_traceback(tmp_path: Path) -> None:
    with serving(tmp_path / "data") as serve:
        serve.process.send_signal(signal.SIGINT)
        code = serve.process.wait(15)

    assert code == 130
    assert any(r.get("msg") == "node stopped" for r in serve.log_records())
    assert "Traceback" not in serve.log()


def test_a_killed_server_leaves_no_database_behind(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    serve = start_serve(data_dir)
    wait_healthy(serve)
    database_pid = _database_pid(data_dir)

    stop_serve(serve, signal.SIGKILL)

    # The kernel sends the orphan SIGTERM; WiredTiger then closes cleanly, which can take a
    # while on a loaded machine. (Not SIGKILL: a killed SecantusDB loses its most recent
    # acknowledged writes, as a test of that showed.)
    wait_until(lambda: not pid_alive(database_pid), "the database exited", timeout=60, every=0.1)
    assert not pid_alive(database_pid)


def test_serve_logs_json_lines_without_peer_addresses(tmp_path: Path) -> None:
    with serving(tmp_path / "data") as serve:

        async def one_connection() -> None:
            async with websockets.connect(f"ws://127.0.0.1:{serve.port}/ws") as ws:
                await ws.send(json.dumps({"type": "ping"}))
                await ws.recv()

        asyncio.run(one_connection())
        wait_until(lambda: "connection closed" in serve.log(), "the connection's last line logged")
        log = serve.log()

    records = serve.log_records()
    assert any(r.get("msg") == "connection open" and r.get("conn") for r in records)
    assert "127.0.0.1:" not in log.replace(f"127.0.0.1:{serve.port}", "")


def test_serve_leaves_the_client_address_to_trusted_proxies_and_times_headers(
    settings: Settings,
) -> None:
    from clubpengu.cli.serve import server_options

    options = server_options(settings.with_overrides(http_header_timeout=7.0))

    assert options["proxy_headers"] is False
    assert options["http"].header_timeout == 7.0
