"""A `join` that fails changes nothing (docs/protocol.md, "Entering in detail"): whatever
refuses it — the token, the room, the instance, a full room, a connection already in the
world, the guest rules — the wallet's live session carries on, nobody sees a leave or an
arrival, and the player's record and the rooms are as they were."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import jwt
import pytest
import websockets
from pymongo import AsyncMongoClient

from clubpengu.config import Settings
from clubpengu.models import User
from tests.conftest import TEST_SECRET
from tests.realtime.support import drop, world
from tests.support import Client, RunningServer, Wallet, connect, enter, sign_in
from tests.waiting import silent

Mongo = AsyncMongoClient[dict[str, Any]]
Attempt = Callable[["Scene"], Awaitable[dict[str, Any]]]


class Scene:
    """A wallet in `plaza` (its live session: `older`) beside an onlooker; the plaza holds
    two, so it is full."""

    def __init__(self, server: RunningServer, wallet: Wallet) -> None:
        self.server, self.wallet = server, wallet
        self.older: Client
        self.onlooker: Client
        self.signed: dict[str, Any]
        self.joined: dict[str, Any]
        self.revoked = ""
        self.signed_in_newer: Client

    async def newer(self, frame: dict[str, Any]) -> dict[str, Any]:
        async with connect(self.server.ws_url) as client:
            return await client.request(frame)

    async def token_join(self, token: str, room: str | None = "plaza") -> dict[str, Any]:
        frame: dict[str, Any] = {"type": "join", "token": token}
        return await self.newer(frame | ({"room": room} if room else {}))

    @property
    def token(self) -> str:
        token: str = self.signed["token"]
        return token


def _expired_token(scene: Scene) -> str:
    claims = jwt.decode(scene.token, TEST_SECRET, algorithms=["HS256"])
    now = int(time.time())
    return jwt.encode(claims | {"iat": now - 100, "exp": now - 10}, TEST_SECRET, "HS256")


async def _revoked_token(scene: Scene) -> None:
    """A second session of the wallet, revoked (made before the state is read: a sign-in
    writes the player's last login)."""
    async with connect(scene.server.ws_url) as client:
        token = (await sign_in(client, scene.wallet))["token"]
    sid = jwt.decode(token, TEST_SECRET, algorithms=["HS256"])["sid"]
    await scene.server.node.services.auth.revoke(sid, "test")
    scene.revoked = token


FAILURES: dict[str, tuple[Attempt, str]] = {
    "a token that is not one": (lambda s: s.token_join("not-a-token"), "not_authenticated"),
    "an expired token": (lambda s: s.token_join(_expired_token(s)), "not_authenticated"),
    "a revoked token": (lambda s: s.token_join(s.revoked), "not_authenticated"),
    "no token and no sign-in": (lambda s: s.newer({"type": "join"}), "not_authenticated"),
    "an unknown room": (lambda s: s.token_join(s.token, "nowhere"), "invalid_message"),
    "an instance that is not open": (lambda s: s.token_join(s.token, "plaza~7"), "invalid_message"),
    "a full instance": (lambda s: s.token_join(s.token, "plaza~1"), "room_full"),
    "an unknown room after a sign-in": (
        lambda s: s.signed_in_newer.request({"type": "join", "room": "nowhere"}),
        "invalid_message",
    ),
    "a room that is not text": (lambda s: s.newer({"type": "join", "room": 7}), "invalid_message"),
    "the live connection joining again": (
        lambda s: s.older.request({"type": "join", "token": s.token, "room": "town"}),
        "conflict",
    ),
}


async def _state(scene: Scene) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    users = User.get_pymongo_collection()
    user = await users.find_one({"walletAddress": scene.wallet.address}, {"_id": 0})
    return user, await scene.server.node.realtime.hub.listing()


async def _still_live(client: Client) -> bool:
    reply = await client.call({"type": "ping"})
    return reply["type"] == "pong"


@pytest.mark.parametrize("name", list(FAILURES))
async def test_a_join_that_fails_changes_nothing(
    settings: Settings, mongo_client: Mongo, name: str
) -> None:
    attempt, code = FAILURES[name]
    async with world(settings, mongo_client, room_capacity=2) as server:
        scene = Scene(server, Wallet())
        scene.onlooker, _, _ = await enter(server.ws_url, Wallet(), room="plaza")
        scene.older, scene.signed, scene.joined = await enter(
            server.ws_url, scene.wallet, room="plaza"
        )
        await scene.onlooker.recv_type("player_joined")
        await _revoked_token(scene)
        scene.signed_in_newer = Client(await websockets.connect(server.ws_url, max_queue=None))
        await sign_in(scene.signed_in_newer, scene.wallet)
        await server.node.services.presence.writer.flush()  # a join does not wait for it
        before = await _state(scene)

        reply = await attempt(scene)
        older_live = await _still_live(scene.older)
        onlooker_saw_nothing = await silent(scene.onlooker, 0.3)
        after = await _state(scene)
        for client in (scene.older, scene.onlooker, scene.signed_in_newer):
            await client.close()

    assert reply["type"] == "error" and reply["code"] == code, reply
    assert older_live
    assert onlooker_saw_nothing
    assert after == before
    assert before[0] is not None and before[0]["isConnected"] is True
    assert before[0]["currentPlayerId"] == scene.joined["playerId"]


async def test_a_guest_join_to_an_unknown_room_seats_nobody(
    settings: Settings, mongo_client: Mongo
) -> None:
    async with world(settings, mongo_client, require_wallet_auth=False) as server:
        onlooker, _, _ = await enter(server.ws_url, Wallet(), room="town")
        before = await server.node.realtime.hub.listing()
        async with connect(server.ws_url) as guest:
            reply = await guest.request({"type": "join", "room": "nowhere"})
        saw_nothing = await silent(onlooker, 0.3)
        after = await server.node.realtime.hub.listing()
        await onlooker.close()

    assert reply["code"] == "invalid_message"
    assert saw_nothing
    assert after == before


async def test_a_join_refused_for_a_full_instance_keeps_the_place_kept_for_a_reconnect(
    settings: Settings, mongo_client: Mongo
) -> None:
    """The place kept for a reconnect is not given up for a room that then refuses."""
    async with world(settings, mongo_client, room_capacity=1, reconnect_grace=5.0) as server:
        other, _, _ = await enter(server.ws_url, Wallet(), room="plaza")
        wallet = Wallet()
        player, signed, joined = await enter(server.ws_url, wallet, room="town")
        await drop(player)
        scene = Scene(server, wallet)
        scene.signed = signed
        refused = await scene.token_join(signed["token"], "plaza~1")
        async with connect(server.ws_url) as back:
            rejoined = await back.request({"type": "join", "token": signed["token"]})
        await other.close()

    assert refused["code"] == "room_full"
    assert rejoined["type"] == "joined" and rejoined["playerId"] == joined["playerId"]
