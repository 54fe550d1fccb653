"""A client that gives up (closes its socket) while its sign-in or join waits to be read
gets no work done for it: the router drops the frames read after the close
(transport/router.py), which under a storm of arrivals would otherwise land on the
players still waiting.

The frames and the close go out in one write, so the server reads the close with them,
before the frames' turn comes, as it does when a client that waited too long gives up.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from clubpengu.models import AuthSession, User
from tests.support import Client, RunningServer, Wallet, connect, sign_in
from tests.waiting import eventually


async def _send_and_close(client: Client, *frames: dict[str, Any]) -> None:
    """Write `frames` and a close frame in one write, then wait for the close to end."""
    protocol = client.ws.protocol
    for frame in frames:
        protocol.send_text(json.dumps(frame).encode())
    protocol.send_close(1000)
    transport = client.ws.transport
    transport.write(b"".join(protocol.data_to_send()))
    async with asyncio.timeout(5):
        await client.ws.wait_closed()


async def _all_gone(server: RunningServer) -> None:
    await eventually(lambda: not len(server.node.realtime.connections), "every socket ended")
    assert await server.node.tasks.wait(within=5.0)
    assert await server.node.services.presence.writer.flush(within=5.0)  # joins and leaves


async def test_a_sign_in_sent_then_given_up_on_signs_nobody_in(server: RunningServer) -> None:
    wallet = Wallet()
    async with connect(server.ws_url) as client:
        challenge = await client.request({"type": "auth_request"})
        verify = {
            "type": "auth_verify",
            "walletAddress": wallet.address,
            "signature": wallet.sign(challenge["nonce"]),
        }
        await _send_and_close(client, verify, {"type": "join", "room": "town"})
    await _all_gone(server)

    assert await User.find_one(User.wallet_address == wallet.address) is None
    assert await AuthSession.find(AuthSession.wallet_address == wallet.address).count() == 0


async def test_a_join_sent_then_given_up_on_seats_nobody(server: RunningServer) -> None:
    wallet = Wallet()
    async with connect(server.ws_url) as first:
        token = (await sign_in(first, wallet))["token"]
    async with connect(server.ws_url) as client:
        await _send_and_close(client, {"type": "join", "token": token, "room": "town"})
    await _all_gone(server)

    user = await User.find_one(User.wallet_address == wallet.address)
    assert user is not None
    assert user.last_room is None and user.current_player_id is None


async def test_a_join_read_before_the_close_is_handled(server: RunningServer) -> None:
    # Only what is read after the client has gone is dropped.
    wallet = Wallet()
    async with connect(server.ws_url) as client:
        await sign_in(client, wallet)
        joined = await client.call({"type": "join", "room": "town"})
    await _all_gone(server)

    user = await User.find_one(User.wallet_address == wallet.address)
    assert joined["type"] == "joined"
    assert user is not None and user.last_room == "town"
