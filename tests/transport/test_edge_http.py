"""The HTTP edge with real sockets (transport/edge.py, transport/header_deadline.py,
cli/serve.py's uvicorn options): bodies capped while they stream, deadlines for headers
and bodies, origins, the client address only from TRUSTED_PROXIES, and /metrics' token."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import websockets
from pymongo import AsyncMongoClient

from clubpengu.config import Settings
from clubpengu.models import User
from tests.support import Client, RunningServer, Wallet, connect, run_server, sign_in

Mongo = AsyncMongoClient[dict[str, Any]]


@contextlib.asynccontextmanager
async def _raw(server: RunningServer) -> AsyncIterator[tuple[asyncio.StreamReader, Any]]:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        yield reader, writer
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def _status(reader: asyncio.StreamReader, timeout: float = 5.0) -> int:
    async with asyncio.timeout(timeout):
        line = await reader.readline()
    return int(line.split()[1])


async def _closed(reader: asyncio.StreamReader, timeout: float) -> bool:
    """True when the server closes the connection within `timeout` (EOF or a reset)."""
    try:
        async with asyncio.timeout(timeout):
            while await reader.read(65536):
                pass
    except TimeoutError:
        return False
    except OSError:
        return True
    return True


def _post_head(path: str, extra: str) -> bytes:
    return f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}\r\n".encode()


async def test_a_declared_length_over_the_cap_is_413_before_any_body_is_sent(
    server: RunningServer,
) -> None:
    async with _raw(server) as (reader, writer):
        writer.write(_post_head("/auth/challenge", "Content-Length: 314572800\r\n"))
        await writer.drain()

        status = await _status(reader)

    assert status == 413


async def test_a_streamed_body_over_the_cap_is_refused_before_it_is_all_sent(
    settings: Settings, mongo_client: Mongo
) -> None:
    chunk = b"x" * 4096
    total_chunks = 256  # 1 MiB in all, against a 16 KiB cap
    async with run_server(settings, mongo_client) as server, _raw(server) as (reader, writer):
        writer.write(_post_head("/auth/verify", "Transfer-Encoding: chunked\r\n"))
        sent = 0
        status_task = asyncio.create_task(_status(reader, timeout=30))
        with contextlib.suppress(OSError):
            while sent < total_chunks and not status_task.done():
                writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                await writer.drain()
                sent += 1
                await asyncio.sleep(0.01)  # the sender's pace: the body arrives over time
        status = await status_task

    assert status == 413
    assert sent < total_chunks // 4  # refused near the cap, not after the whole body


async def test_a_body_that_stalls_is_answered_408_after_the_body_deadline(
    settings: Settings, mongo_client: Mongo
) -> None:
    quick = settings.with_overrides(http_body_timeout=0.5)
    async with run_server(quick, mongo_client) as server, _raw(server) as (reader, writer):
        writer.write(_post_head("/auth/challenge", "Content-Length: 100\r\n") + b"{")
        await writer.drain()
        started = time.monotonic()

        status = await _status(reader)
        waited = time.monotonic() - started

    assert status == 408
    assert 0.4 < waited < 3


async def test_headers_trickled_a_line_at_a_time_are_cut_off_at_the_header_deadline(
    settings: Settings, mongo_client: Mongo
) -> None:
    quick = settings.with_overrides(http_header_timeout=1.0)
    async with run_server(quick, mongo_client) as server, _raw(server) as (reader, writer):
        started = time.monotonic()
        writer.write(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        closed = False
        with contextlib.suppress(OSError):
            for number in range(30):  # a header line every 0.2 s: 6 s if never cut off
                writer.write(b"X-Slow-%d: 1\r\n" % number)
                await writer.drain()
                if await _closed(reader, 0.2):
                    closed = True
                    break
        lasted = time.monotonic() - started

    assert closed
    assert lasted < 3


async def test_the_header_deadline_applies_to_the_next_request_on_a_kept_connection(
    settings: Settings, mongo_client: Mongo
) -> None:
    quick = settings.with_overrides(http_header_timeout=1.0)
    async with run_server(quick, mongo_client) as server, _raw(server) as (reader, writer):
        writer.write(b"GET /client-config HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        first = await _status(reader)
        writer.write(b"GET /client-config HTTP/1.1\r\n")
        started = time.monotonic()
        closed = False
        with contextlib.suppress(OSError):
            for number in range(30):
                writer.write(b"X-Slow-%d: 1\r\n" % number)
                await writer.drain()
                if await _closed(reader, 0.2):
                    closed = True
                    break

    assert first == 200
    assert closed and time.monotonic() - started < 3


async def test_a_websocket_outlives_the_header_deadline(
    settings: Settings, mongo_client: Mongo
) -> None:
    quick = settings.with_overrides(http_header_timeout=0.3)
    async with run_server(quick, mongo_client) as server, connect(server.ws_url) as client:
        await asyncio.sleep(0.8)  # the header deadline (0.3 s) passes: what is tested
        reply = await client.request({"type": "ping"})

    assert reply["type"] == "pong"


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://127.0.0.1:1"])
async def test_a_socket_from_another_origin_is_refused_with_403_before_the_upgrade(
    server: RunningServer, origin: str
) -> None:
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(server.ws_url, origin=origin)  # type: ignore[arg-type]

    assert refused.value.response.status_code == 403


async def test_a_socket_from_the_server_s_own_origin_or_without_one_is_accepted(
    server: RunningServer,
) -> None:
    own = f"http://127.0.0.1:{server.port}"
    async with websockets.connect(server.ws_url, origin=own) as ws:  # type: ignore[arg-type]
        await ws.send('{"type":"ping"}')
        own_reply = await ws.recv()
    async with websockets.connect(server.ws_url) as ws:
        await ws.send('{"type":"ping"}')
        bare_reply = await ws.recv()

    assert "pong" in str(own_reply) and "pong" in str(bare_reply)


async def test_listed_origins_and_a_star_are_allowed(
    settings: Settings, mongo_client: Mongo
) -> None:
    listed = settings.with_overrides(allowed_origins=("https://play.example.com",))
    async with run_server(listed, mongo_client) as server, httpx.AsyncClient() as http:
        allowed = await http.post(
            server.url + "/auth/challenge", headers={"Origin": "https://play.example.com"}
        )
        other = await http.post(
            server.url + "/auth/challenge", headers={"Origin": "https://evil.example"}
        )
    star = settings.with_overrides(allowed_origins=("*",))
    async with run_server(star, mongo_client) as server, httpx.AsyncClient() as http:
        any_origin = await http.post(
            server.url + "/auth/challenge", headers={"Origin": "https://evil.example"}
        )

    assert allowed.status_code == 200
    assert other.status_code == 403 and other.json()["code"] == "forbidden"
    assert any_origin.status_code == 200


async def test_a_trusted_proxy_s_forwarded_scheme_makes_the_own_origin_https(
    settings: Settings, mongo_client: Mongo
) -> None:
    behind = settings.with_overrides(trusted_proxies=(ipaddress.ip_network("127.0.0.1/32"),))
    headers = {"Host": "play.example.com", "X-Forwarded-Proto": "https"}
    async with run_server(behind, mongo_client) as server, httpx.AsyncClient() as http:
        https = await http.post(
            server.url + "/auth/challenge",
            headers=headers | {"Origin": "https://play.example.com"},
        )
        http_origin = await http.post(
            server.url + "/auth/challenge", headers=headers | {"Origin": "http://play.example.com"}
        )

    assert https.status_code == 200
    assert http_origin.status_code == 403


async def test_a_forwarded_address_from_an_untrusted_loopback_peer_is_ignored(
    settings: Settings, mongo_client: Mongo
) -> None:
    """uvicorn's own proxy_headers would believe X-Forwarded-For from loopback; the app's
    TRUSTED_PROXIES (empty here) is the only rule: every request counts against
    127.0.0.1, and the hashed address is 127.0.0.1's."""
    limited = settings.with_overrides(auth_rate_per_ip=2)
    async with run_server(limited, mongo_client) as server, httpx.AsyncClient() as http:
        statuses = [
            (
                await http.post(
                    server.url + "/auth/challenge", headers={"X-Forwarded-For": f"203.0.113.{n}"}
                )
            ).status_code
            for n in range(3)
        ]
    assert statuses == [200, 200, 429]

    wallet = Wallet()
    async with run_server(settings, mongo_client) as server:
        client = await websockets.connect(
            server.ws_url, additional_headers={"X-Forwarded-For": "203.0.113.9"}
        )
        await sign_in(Client(client), wallet)
        await client.close()
        expected = server.node.services.auth.hash_ip("127.0.0.1")
    user = await User.find_one(User.wallet_address == wallet.address)

    assert user is not None and user.last_ip_hash == expected


async def test_metrics_ask_for_the_token_when_one_is_set(
    settings: Settings, mongo_client: Mongo
) -> None:
    guarded = settings.with_overrides(metrics_token="s3cret-token")
    async with run_server(guarded, mongo_client) as server, httpx.AsyncClient() as http:
        bare = await http.get(server.url + "/metrics")
        wrong = await http.get(server.url + "/metrics", headers={"Authorization": "Bearer no"})
        right = await http.get(
            server.url + "/metrics", headers={"Authorization": "Bearer s3cret-token"}
        )

    assert bare.status_code == 401 and wrong.status_code == 401
    assert right.status_code == 200 and "clubpengu_" in right.text


async def test_a_client_that_leaves_mid_body_logs_no_error(
    server: RunningServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with _raw(server) as (_reader, writer):
        writer.write(_post_head("/auth/verify", "Content-Length: 1000\r\n") + b'{"challengeId"')
        await writer.drain()
        await asyncio.sleep(0.2)  # the body stays unfinished a while before the client leaves
    await asyncio.sleep(0.3)  # the server's reading of the cut body: nothing to ask about
    async with httpx.AsyncClient() as http:  # the server carries on
        health = await http.get(server.url + "/health")

    assert health.status_code == 200
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    assert not [r for r in caplog.records if r.exc_info], caplog.text
