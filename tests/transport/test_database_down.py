"""With the database gone, requests that need it answer `unavailable` (WebSocket) or 503
`unavailable` (HTTP) within the server-selection timeout: a documented, retryable error,
never `internal` or a bare 500. Play that needs no database goes on."""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from clubpengu.db import EmbeddedDatabase
from tests.conftest import TEST_SECRET
from tests.support import (
    Client,
    ServeProcess,
    Wallet,
    enter,
    http_token,
    start_serve,
    stop_serve,
    wait_healthy,
)
from tests.support import connect as connect_ws


@dataclass
class Outage:
    serve: ServeProcess
    admin: str  # the admin's bearer token
    player: Client
    wallet: Wallet

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.serve.port}/ws"


@pytest.fixture(scope="module")
async def outage(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Outage]:
    """`clubpengu serve` on a database of its own, a signed-in admin and player; then the
    database is killed (SIGKILL) and the module's tests run with it gone. It is started
    again before the server stops, so the shutdown does not wait for it."""
    directory = tmp_path_factory.mktemp("outage")
    database = EmbeddedDatabase(directory / "db")
    admin = Wallet()
    env = {
        "CLUBPENGU_ENV": "test",
        "MONGODB_URI": database.start(),
        "MONGODB_DB": "outage_test",
        "MONGODB_SERVER_SELECTION_TIMEOUT_MS": "1000",
        "JWT_SECRET": TEST_SECRET,
        "ADMIN_WALLETS": admin.address,
        "DAILY_BONUS_COINS": "0",
    }
    (directory / "data").mkdir()
    serve = start_serve(directory / "data", env)
    try:
        wait_healthy(serve)
        token = await http_token(serve.url, admin)
        wallet = Wallet()
        player, _, _ = await enter(f"ws://127.0.0.1:{serve.port}/ws", wallet)
        assert database.process is not None
        database.process.send_signal(signal.SIGKILL)
        database.process.wait()
        database.process = None
        yield Outage(serve, token, player, wallet)
        await player.close()
        database = EmbeddedDatabase(directory / "db", port=database.port)
        database.start()
    finally:
        stop_serve(serve)
        database.stop()


async def test_a_purchase_without_the_database_is_unavailable(outage: Outage) -> None:
    reply = await outage.player.call(
        {"type": "purchase", "itemId": "puffle_o", "idempotencyKey": "k1"}, timeout=30
    )

    assert reply["type"] == "error"
    assert reply["code"] == "unavailable"
    assert "Internal" not in reply["message"]


async def test_a_sign_in_without_the_database_is_unavailable(outage: Outage) -> None:
    async with connect_ws(outage.ws_url) as client:
        challenge = await client.request({"type": "auth_request"})
        wallet = Wallet()
        reply = await client.request(
            {
                "type": "auth_verify",
                "walletAddress": wallet.address,
                "signature": wallet.sign(challenge["nonce"]),
            },
            timeout=30,
        )

    assert reply["type"] == "error" and reply["code"] == "unavailable"


async def test_a_staff_grant_without_the_database_is_503_unavailable(outage: Outage) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.post(
            outage.serve.url + "/admin/coins",
            headers={"authorization": f"Bearer {outage.admin}"},
            json={
                "walletAddress": outage.wallet.address,
                "amount": 10,
                "reason": "outage test",
                "idempotencyKey": "g1",
            },
        )

    assert response.status_code == 503
    assert response.json()["code"] == "unavailable"


async def test_an_http_sign_in_without_the_database_is_503_unavailable(outage: Outage) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.post(outage.serve.url + "/auth/challenge", json={})

    assert response.status_code == 503
    assert response.json() == {
        "type": "error",
        "code": "unavailable",
        "message": "The service is temporarily unavailable; try again",
    }


async def test_moving_and_chatting_need_no_database(outage: Outage) -> None:
    moved: dict[str, Any] = await outage.player.call({"type": "move", "x": 300, "y": 300})
    said: dict[str, Any] = await outage.player.call({"type": "chat", "text": "still here"})

    assert moved == {"type": "ok"} and said == {"type": "ok"}
