"""Connection limits with real sockets (realtime/admission.py, transport/ws.py): open
sockets per address and per node, the sign-in deadline, the per-address message budget,
and — with REDIS_URL — the per-address counts, message budget and sign-in limits held
across two nodes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import redis.asyncio as redis
import websockets
from pymongo import AsyncMongoClient

from clubpengu.config import Rate, Settings
from tests.realtime.support import closed_with
from tests.redis_server import RedisServer
from tests.support import Client, RunningServer, Wallet, run_server, sign_in
from tests.waiting import eventually

Mongo = AsyncMongoClient[dict[str, Any]]
LIMITS_DB = 9  # a Redis database of its own, emptied before each test that uses it


@contextlib.asynccontextmanager
async def _sockets(url: str, count: int) -> AsyncIterator[list[Client]]:
    clients = [Client(await websockets.connect(url, max_queue=None)) for _ in range(count)]
    try:
        yield clients
    finally:
        for client in clients:
            await client.close()


async def _refused_status(url: str) -> int | None:
    """The HTTP status the upgrade was refused with; None when it was accepted."""
    try:
        ws = await websockets.connect(url)
    except websockets.InvalidStatus as refused:
        return refused.response.status_code
    await ws.close()
    return None


async def test_an_address_over_its_open_socket_limit_is_refused_429_before_the_upgrade(
    settings: Settings, mongo_client: Mongo
) -> None:
    async with (
        run_server(settings.with_overrides(max_connections_per_ip=3), mongo_client) as server,
        _sockets(server.ws_url, 3) as open_three,
    ):
        over = await _refused_status(server.ws_url)
        await open_three[0].close()
        after_one_closed = await eventually(
            lambda: _refused_status(server.ws_url), ready=lambda status: status is None
        )

    assert over == 429
    assert after_one_closed is None


async def test_0_turns_the_per_address_socket_limit_off(
    settings: Settings, mongo_client: Mongo
) -> None:
    async with (
        run_server(settings.with_overrides(max_connections_per_ip=0), mongo_client) as server,
        _sockets(server.ws_url, 40),
    ):
        status = await _refused_status(server.ws_url)

    assert status is None


async def test_a_node_at_its_connection_cap_refuses_with_503(
    settings: Settings, mongo_client: Mongo
) -> None:
    async with (
        run_server(settings.with_overrides(max_connections=2), mongo_client) as server,
        _sockets(server.ws_url, 2),
    ):
        status = await _refused_status(server.ws_url)
        async with httpx.AsyncClient() as http:
            health = (await http.get(server.url + "/health")).status_code

    assert status == 503
    assert health == 200  # HTTP is not counted: the node still answers its checks


async def test_the_default_cap_is_below_the_process_file_limit() -> None:
    import resource

    from clubpengu.realtime.admission import default_max_connections

    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)

    assert 0 < default_max_connections() < soft


async def test_a_socket_that_does_not_sign_in_in_time_is_closed_1008_pings_or_not(
    settings: Settings, mongo_client: Mongo
) -> None:
    async with run_server(settings.with_overrides(sign_in_deadline=0.6), mongo_client) as server:
        idle = Client(await websockets.connect(server.ws_url))
        busy = Client(await websockets.connect(server.ws_url))
        signed = Client(await websockets.connect(server.ws_url))
        await sign_in(signed, Wallet())
        for _ in range(4):  # `ping` and `rooms` do not extend the deadline
            await busy.request({"type": "ping"})
            await busy.request({"type": "rooms"})
            await asyncio.sleep(0.1)  # the busy client's pace: 0.4 s of it, inside the deadline

        idle_code = await closed_with(idle, 3)
        busy_code = await closed_with(busy, 3)
        signed_reply = await signed.request({"type": "ping"})
        await signed.close()

    assert idle_code == 1008 and busy_code == 1008
    assert signed_reply["type"] == "pong"


async def test_a_guest_who_joined_is_not_closed_by_the_sign_in_deadline(
    settings: Settings, mongo_client: Mongo
) -> None:
    open_door = settings.with_overrides(sign_in_deadline=0.3, require_wallet_auth=False)
    async with run_server(open_door, mongo_client) as server:
        guest = Client(await websockets.connect(server.ws_url))
        joined = await guest.request({"type": "join", "room": "town"})
        await asyncio.sleep(0.6)  # the deadline (0.3 s) passes: what is tested
        reply = await guest.call({"type": "ping"})
        await guest.close()

    assert joined["type"] == "joined" and reply["type"] == "pong"


async def test_an_address_s_sockets_share_one_message_budget(
    settings: Settings, mongo_client: Mongo
) -> None:
    budget = settings.with_overrides(message_rate_per_ip=Rate(10, 60.0))
    async with run_server(budget, mongo_client) as server, _sockets(server.ws_url, 4) as clients:
        replies = [await client.request({"type": "ping"}) for client in clients for _ in range(4)]

    refused = [reply for reply in replies if reply["type"] == "error"]
    assert sum(reply["type"] == "pong" for reply in replies) == 10
    assert len(refused) == 6
    assert {reply["code"] for reply in refused} == {"rate_limited"}
    assert "address" in refused[0]["message"]


# --- across nodes (REDIS_URL) --------------------------------------------------------------


@pytest.fixture
async def shared_redis(redis_server: RedisServer) -> AsyncIterator[str]:
    url = redis_server.url.rsplit("/", 1)[0] + f"/{LIMITS_DB}"
    client = redis.from_url(url)
    await client.flushdb()
    await client.aclose()
    yield url


@contextlib.asynccontextmanager
async def _two_nodes(
    settings: Settings, mongo: Mongo, redis_url: str, **limits: Any
) -> AsyncIterator[tuple[RunningServer, RunningServer]]:
    base = settings.with_overrides(redis_url=redis_url, **limits)
    async with (
        run_server(base.with_overrides(node_id="node-a"), mongo) as a,
        run_server(base.with_overrides(node_id="node-b"), mongo) as b,
    ):
        yield a, b


async def test_the_per_address_socket_limit_holds_across_nodes(
    settings: Settings, mongo_client: Mongo, shared_redis: str
) -> None:
    async with (
        _two_nodes(settings, mongo_client, shared_redis, max_connections_per_ip=2) as (a, b),
        _sockets(a.ws_url, 1),
        _sockets(b.ws_url, 1) as on_b,
    ):
        over_a = await _refused_status(a.ws_url)
        over_b = await _refused_status(b.ws_url)
        await on_b[0].close()
        # The close is sent to Redis in the background.
        after_close = await eventually(
            lambda: _refused_status(a.ws_url), ready=lambda status: status is None
        )
        store = redis.from_url(shared_redis)
        keys = [key async for key in store.scan_iter()]
        await store.aclose()

    assert over_a == 429 and over_b == 429
    assert after_close is None
    assert keys and not any(b"127.0.0.1" in key for key in keys)  # addresses are hashed


async def test_the_sign_in_limit_per_address_holds_across_nodes(
    settings: Settings, mongo_client: Mongo, shared_redis: str
) -> None:
    async with (
        _two_nodes(settings, mongo_client, shared_redis, auth_rate_per_ip=3) as (a, b),
        httpx.AsyncClient() as http,
    ):
        statuses = [
            (await http.post(node.url + "/auth/challenge")).status_code for node in (a, b, a, b)
        ]

    assert statuses == [200, 200, 200, 429]


async def _pings(client: Client, count: int) -> list[dict[str, Any]]:
    return [await client.request({"type": "ping"}) for _ in range(count)]


def _refused(reply: dict[str, Any]) -> bool:
    return reply["type"] == "error" and reply["code"] == "rate_limited"


async def test_the_per_address_message_budget_holds_across_nodes(
    settings: Settings, mongo_client: Mongo, shared_redis: str
) -> None:
    # A window of a day: the test's messages all fall in one (a window ends at 00:00 UTC).
    limits = {"message_rate_per_ip": Rate(100, 86400.0), "message_rate": Rate(1000, 1.0)}
    async with (
        _two_nodes(settings, mongo_client, shared_redis, **limits) as (a, b),
        _sockets(a.ws_url, 1) as on_a,
        _sockets(b.ws_url, 1) as on_b,
    ):
        # 60 on each node: each under the budget, together over it.
        sent = await _pings(on_a[0], 60) + await _pings(on_b[0], 60)
        probes: dict[str, list[dict[str, Any]]] = {"a": [], "b": []}

        async def refused_on(name: str, client: Client) -> bool:
            probes[name].append(await client.request({"type": "ping"}))
            return _refused(probes[name][-1])

        await eventually(lambda: refused_on("a", on_a[0]), timeout=3, every=0.05)
        await eventually(lambda: refused_on("b", on_b[0]), timeout=3, every=0.05)
        still_a, still_b = await _pings(on_a[0], 1), await _pings(on_b[0], 1)

    assert all(reply["type"] == "pong" for reply in sent)
    # Refused before either node's own bucket (40 left on each) could have run out.
    assert len(probes["a"]) < 40 and len(probes["b"]) < 40
    assert "address" in probes["a"][-1]["message"]
    assert _refused(still_a[0]) and _refused(still_b[0])  # until the window ends


async def test_one_node_with_redis_still_lets_its_budget_through(
    settings: Settings, mongo_client: Mongo, shared_redis: str
) -> None:
    limited = settings.with_overrides(redis_url=shared_redis, message_rate_per_ip=Rate(30, 86400.0))
    async with run_server(limited, mongo_client) as server, _sockets(server.ws_url, 2) as clients:
        first = await _pings(clients[0], 15) + await _pings(clients[1], 15)
        reported = await eventually(lambda: _message_total(shared_redis), ready=lambda n: n == 30)
        after = await _pings(clients[0], 1)

    assert all(reply["type"] == "pong" for reply in first)
    assert reported == 30
    assert _refused(after[0])


async def _message_total(url: str) -> int:
    store = redis.from_url(url)
    try:
        keys = [key async for key in store.scan_iter("msgs:*")]
        return sum(int(value or 0) for value in await store.mget(keys)) if keys else 0
    finally:
        await store.aclose()


async def test_without_redis_the_limits_fall_back_to_the_node_s_own_counts(
    settings: Settings,
    mongo_client: Mongo,
    tmp_path: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    lost = RedisServer(tmp_path / "redis")
    lost.start()
    limited = settings.with_overrides(
        redis_url=lost.url, max_connections_per_ip=2, auth_rate_per_ip=2
    )
    try:
        async with run_server(limited, mongo_client) as server:
            lost.stop()
            await asyncio.sleep(0.5)  # Redis stays gone a while: the outage is the scenario
            caplog.set_level(logging.WARNING)
            async with _sockets(server.ws_url, 2):
                over = await _refused_status(server.ws_url)
            async with httpx.AsyncClient() as http:
                statuses = [
                    (await http.post(server.url + "/auth/challenge")).status_code for _ in range(3)
                ]
    finally:
        lost.stop()

    assert over == 429
    assert statuses == [200, 200, 429]
    assert "counting this node's sockets only" in caplog.text
    assert "counting on this node only" in caplog.text


async def test_without_redis_the_message_budget_is_the_node_s_own(
    settings: Settings,
    mongo_client: Mongo,
    tmp_path: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    lost = RedisServer(tmp_path / "redis")
    lost.start()
    limited = settings.with_overrides(redis_url=lost.url, message_rate_per_ip=Rate(10, 3600.0))
    try:
        async with run_server(limited, mongo_client) as server:
            lost.stop()
            caplog.set_level(logging.WARNING)
            async with _sockets(server.ws_url, 2) as clients:
                replies = await _pings(clients[0], 6) + await _pings(clients[1], 6)
                await eventually(lambda: "counting this node's messages only" in caplog.text)
    finally:
        lost.stop()

    assert [reply["type"] for reply in replies] == ["pong"] * 10 + ["error"] * 2
    assert all(_refused(reply) for reply in replies[10:])
