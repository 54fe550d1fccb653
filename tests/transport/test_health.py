"""/health: healthy with a live database, degraded (503) without one."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest

from clubpengu.config import Settings
from clubpengu.db import EmbeddedDatabase
from tests.support import RunningServer, connect, run_server


async def test_health_is_healthy_with_a_live_database(server: RunningServer) -> None:
    async with connect(server.ws_url), httpx.AsyncClient() as http:
        response = await http.get(server.url + "/health")

    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "healthy"
    assert body["database"] == "ok"
    assert body["redis"] == "disabled"
    assert body["connections"] == 1
    assert body["uptime"] >= 0


async def test_health_is_degraded_when_the_database_stops(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    database = EmbeddedDatabase(tmp_path / "own-db")
    uri = database.start()
    own = settings.with_overrides(
        mongodb_uri=uri, mongodb_db="health_test", mongo_server_selection_timeout_ms=1000
    )
    try:
        async with run_server(own) as running, httpx.AsyncClient(timeout=10) as http:
            before = await http.get(running.url + "/health")
            database.stop()
            after = await http.get(running.url + "/health")
    finally:
        database.stop()

    assert before.status_code == 200
    assert after.status_code == 503
    assert after.json()["status"] == "degraded"
    assert after.json()["database"] == "error"
    # The node then stops with its database gone: the players' presence is left for its
    # next start (a warning), and the stop goes on to close its own client (a stop that
    # failed there left it open, for the garbage collector to warn of).
    warned = [r.getMessage() for r in caplog.records if r.name == "clubpengu.services.presence"]
    assert warned == ["players not marked gone at shutdown; the node's next start does it"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
