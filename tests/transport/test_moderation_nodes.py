"""Two nodes on one database and one real Redis: a ban or mute made on one node holds at once
on the other, and a role taken off one node's configuration ends there at once."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from clubpengu.config import Rate, Settings
from tests.realtime.support import closed_with, drop
from tests.redis_server import RedisServer
from tests.support import RunningServer, Wallet, enter, run_server
from tests.transport.staff_support import http_token

pytestmark = pytest.mark.slow


@dataclass
class TwoNodes:
    a: RunningServer
    b: RunningServer
    http: httpx.AsyncClient
    admin: Wallet
    token: str  # the admin's, from node A

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def post(self, node: RunningServer, path: str, body: dict[str, Any]) -> httpx.Response:
        return await self.http.post(node.url + path, json=body, headers=self.auth())


@pytest.fixture
async def nodes(
    settings: Settings, mongo_client: AsyncMongoClient[dict[str, Any]], redis_server: RedisServer
) -> AsyncIterator[TwoNodes]:
    """Node A lists the admin in ADMIN_WALLETS; node B, as if the wallet had just been taken
    off its list, does not."""
    admin, run = Wallet(), secrets.token_hex(3)
    shared = settings.with_overrides(
        redis_url=redis_server.url, reconnect_grace=30.0, chat_rate=Rate(0, 1.0)
    )
    a_settings = shared.with_overrides(node_id=f"mod-a-{run}", admin_wallets={admin.address})
    b_settings = shared.with_overrides(node_id=f"mod-b-{run}")
    async with contextlib.AsyncExitStack() as stack:
        a = await stack.enter_async_context(run_server(a_settings, mongo_client))
        b = await stack.enter_async_context(run_server(b_settings, mongo_client))
        http = await stack.enter_async_context(httpx.AsyncClient(timeout=10))
        yield TwoNodes(a, b, http, admin, await http_token(http, a.url, admin))


async def test_a_role_taken_off_one_node_s_configuration_is_refused_there_at_once(
    nodes: TwoNodes,
) -> None:
    on_a = await nodes.http.get(nodes.a.url + "/admin/me", headers=nodes.auth())
    on_b = await nodes.http.get(nodes.b.url + "/admin/me", headers=nodes.auth())
    grant_on_b = await nodes.post(
        nodes.b, "/admin/coins",
        {"walletAddress": nodes.admin.address, "amount": 5, "reason": "self-serve",
         "idempotencyKey": "x"},
    )  # fmt: skip

    assert on_a.json() == {"walletAddress": nodes.admin.address, "role": "admin"}
    assert on_b.status_code == 403 and on_b.json()["code"] == "forbidden"
    assert grant_on_b.status_code == 403


async def test_a_ban_on_one_node_kicks_the_player_on_the_other_within_a_second(
    nodes: TwoNodes,
) -> None:
    player = Wallet()
    client, _, _ = await enter(nodes.b.ws_url, player)

    started = time.monotonic()
    banned = await nodes.post(
        nodes.a, f"/admin/users/{player.address}/ban", {"reason": "cheating", "duration": "1d"}
    )
    kicked = await client.recv_type("kicked")
    code = await closed_with(client)
    elapsed = time.monotonic() - started

    assert banned.status_code == 200, banned.text
    assert kicked == {"type": "kicked", "reason": "BANNED"} and code == 4003
    assert elapsed < 1.0


async def test_a_ban_ends_the_place_another_node_keeps_for_the_player_s_reconnect(
    nodes: TwoNodes,
) -> None:
    player, watcher = Wallet(), Wallet()
    dropped, _, joined = await enter(nodes.b.ws_url, player, "dojo")
    seeing, _, _ = await enter(nodes.b.ws_url, watcher, "dojo")
    await drop(dropped)  # its place is kept for the reconnect grace (30 s)

    await nodes.post(
        nodes.a, f"/admin/users/{player.address}/ban", {"reason": "cheating", "duration": None}
    )
    left = await seeing.recv_type("player_left", timeout=2)
    await seeing.close()

    assert left["playerId"] == joined["playerId"]


async def test_a_mute_and_an_unmute_on_one_node_hold_at_once_on_the_other(
    nodes: TwoNodes,
) -> None:
    player = Wallet()
    client, _, _ = await enter(nodes.b.ws_url, player)
    path = f"/admin/users/{player.address}"

    await nodes.post(nodes.a, path + "/mute", {"reason": "spam", "duration": "1h"})
    muted_after = await _first_chat_answered(client, "error")
    await nodes.post(nodes.a, path + "/unmute", {"reason": "appeal granted"})
    unmuted_after = await _first_chat_answered(client, "ok")
    await client.close()

    # Told over Redis pub/sub as the change commits: milliseconds, never near a second.
    assert muted_after < 1.0 and unmuted_after < 1.0


async def _first_chat_answered(client: Any, kind: str) -> float:
    """Chat every 20 ms until the reply is of `kind`; the seconds that took."""
    started = time.monotonic()
    while time.monotonic() - started < 2.0:
        reply = await client.call({"type": "chat", "text": "still here?"})
        if reply["type"] == kind:
            assert kind == "ok" or reply["code"] == "muted", reply
            return time.monotonic() - started
        await asyncio.sleep(0.02)  # the chatter's pace: the time it took is what is measured
    raise AssertionError(f"no {kind} reply within 2 s")
