"""Sign-in, join and sessions over real WebSockets against the real database."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest
from pymongo import AsyncMongoClient

from clubpengu.config import Settings
from clubpengu.models import AuthSession, User
from tests.realtime.support import closed_with
from tests.support import (
    RunningServer,
    Wallet,
    connect,
    disconnected,
    enter,
    run_server,
    sign_in,
)


@contextlib.asynccontextmanager
async def _server_with(
    settings: Settings, mongo_client: AsyncMongoClient[dict[str, object]], **changes: object
) -> AsyncIterator[RunningServer]:
    async with run_server(settings.with_overrides(**changes), mongo_client) as running:
        yield running


async def test_a_new_wallet_signs_in_and_joins_without_sending_the_token(
    server: RunningServer,
) -> None:
    wallet = Wallet()
    async with connect(server.ws_url) as client:
        signed = await sign_in(client, wallet)
        joined = await client.request({"type": "join", "room": "plaza", "rid": "j1"})

    assert signed["isNewUser"] is True
    assert signed["user"]["walletAddress"] == wallet.address
    assert signed["user"]["coins"] == 0
    assert signed["user"]["unlockedMounts"] == ["none"]
    for key in ("username", "customization", "unlockedCosmetics", "stamps"):
        assert key in signed["user"]
    assert joined["type"] == "joined" and joined["rid"] == "j1"
    assert joined["room"] == "plaza"
    assert joined["user"]["walletAddress"] == wallet.address
    assert [p["walletAddress"] for p in joined["players"]] == [wallet.address]


async def test_a_returning_wallet_is_not_new_and_joins_with_its_token(
    server: RunningServer,
) -> None:
    wallet = Wallet()
    async with connect(server.ws_url) as first:
        token = (await sign_in(first, wallet))["token"]

    async with connect(server.ws_url) as second:
        again = await sign_in(second, wallet)
    async with connect(server.ws_url) as third:
        joined = await third.request({"type": "join", "token": token})

    assert again["isNewUser"] is False
    assert joined["type"] == "joined"
    assert joined["user"]["walletAddress"] == wallet.address


async def test_the_challenge_reply_carries_the_rid(server: RunningServer) -> None:
    async with connect(server.ws_url) as client:
        challenge = await client.request({"type": "auth_request", "rid": 5})

    assert challenge["type"] == "auth_challenge"
    assert challenge["rid"] == 5
    assert challenge["expiresAt"].endswith("Z")


async def test_verify_without_a_challenge_is_no_challenge(server: RunningServer) -> None:
    wallet = Wallet()
    async with connect(server.ws_url) as client:
        reply = await client.request(
            {"type": "auth_verify", "walletAddress": wallet.address, "signature": wallet.sign("x")}
        )

    assert reply == {"type": "auth_failure", "error": "no_challenge"}


async def test_a_replayed_signature_fails_on_the_same_and_on_a_new_connection(
    server: RunningServer,
) -> None:
    wallet = Wallet()
    async with connect(server.ws_url) as client:
        challenge = await client.request({"type": "auth_request"})
        verify = {
            "type": "auth_verify",
            "walletAddress": wallet.address,
            "signature": wallet.sign(challenge["nonce"]),
        }
        first = await client.request(verify)
        same_connection = await client.request(verify)
    async with connect(server.ws_url) as other:
        no_challenge = await other.request(verify)
        await other.request({"type": "auth_request"})
        fresh_challenge = await other.request(verify)

    assert first["type"] == "auth_success"
    assert same_connection == {"type": "auth_failure", "error": "no_challenge"}
    assert no_challenge == {"type": "auth_failure", "error": "no_challenge"}
    assert fresh_challenge == {"type": "auth_failure", "error": "invalid_signature"}


@pytest.mark.parametrize(
    ("wallet_address", "signature", "code"),
    [
        ("0OIl", "zz", "invalid_wallet"),
        ("", "zz", "invalid_wallet"),
        ("VALID", "0OIl", "invalid_signature"),
        ("VALID", "", "invalid_signature"),
    ],
)
async def test_malformed_input_gets_its_failure_code(
    server: RunningServer, wallet_address: object, signature: object, code: str
) -> None:
    wallet = Wallet()
    async with connect(server.ws_url) as client:
        await client.request({"type": "auth_request"})
        reply = await client.request(
            {
                "type": "auth_verify",
                "walletAddress": wallet.address if wallet_address == "VALID" else wallet_address,
                "signature": signature,
            }
        )

    assert reply == {"type": "auth_failure", "error": code}
    assert await User.count() == 0


@pytest.mark.parametrize(
    "fields",
    [
        {"signature": "zz"},
        {"walletAddress": "VALID"},
        {"walletAddress": 12, "signature": "zz"},
        {"walletAddress": None, "signature": "zz"},
        {"walletAddress": "VALID", "signature": ["zz"]},
        {"walletAddress": "VALID", "signature": None},
    ],
)
async def test_a_missing_or_ill_typed_wallet_or_signature_is_invalid_message(
    server: RunningServer, fields: dict[str, object]
) -> None:
    wallet = Wallet()
    async with connect(server.ws_url) as client:
        challenge = await client.request({"type": "auth_request"})
        sent = {k: wallet.address if v == "VALID" else v for k, v in fields.items()}
        reply = await client.request({"type": "auth_verify", "rid": 1, **sent})
        # The refused message used nothing up: the challenge still signs in.
        signed = await client.request(
            {
                "type": "auth_verify",
                "walletAddress": wallet.address,
                "signature": wallet.sign(challenge["nonce"]),
            }
        )

    assert reply["type"] == "error" and reply["code"] == "invalid_message", reply
    assert reply["rid"] == 1
    assert signed["type"] == "auth_success"
    assert await User.count() == 1


async def test_an_ill_typed_wallet_in_auth_request_is_invalid_message(
    server: RunningServer,
) -> None:
    async with connect(server.ws_url) as client:
        reply = await client.request({"type": "auth_request", "walletAddress": 12})

    assert reply["type"] == "error" and reply["code"] == "invalid_message"


@pytest.mark.parametrize(
    "frame",
    [{"type": "change_room", "room": "town"}, {"type": "logout"}],
)
async def test_messages_before_sign_in_are_not_authenticated(
    server: RunningServer, frame: dict[str, object]
) -> None:
    async with connect(server.ws_url) as client:
        reply = await client.request(frame)

    assert reply["code"] == "not_authenticated"


async def test_join_without_a_token_or_sign_in_is_not_authenticated(
    server: RunningServer,
) -> None:
    async with connect(server.ws_url) as client:
        reply = await client.request({"type": "join", "room": "town"})

    assert reply["code"] == "not_authenticated"


async def test_join_with_a_bad_token_is_not_authenticated(server: RunningServer) -> None:
    async with connect(server.ws_url) as client:
        reply = await client.request({"type": "join", "token": "a.b.c"})

    assert reply["code"] == "not_authenticated"


async def test_join_to_an_unknown_room_is_an_invalid_message(server: RunningServer) -> None:
    async with connect(server.ws_url) as client:
        await sign_in(client, Wallet())
        reply = await client.request({"type": "join", "room": "atlantis"})

    assert reply["code"] == "invalid_message"


async def test_a_newer_session_of_the_wallet_kicks_the_older_one(server: RunningServer) -> None:
    wallet = Wallet()
    older, _, _ = await enter(server.ws_url, wallet)

    newer, _, joined = await enter(server.ws_url, wallet)
    kicked = await older.recv_type("kicked")
    code = await closed_with(older)
    still_alive = await newer.request({"type": "ping"})
    await newer.close()

    assert kicked == {"type": "kicked", "reason": "KICKED_OTHER_SESSION"}
    assert code == 4001
    assert still_alive["type"] == "pong"
    user = await User.find_one(User.wallet_address == wallet.address)
    assert user is not None and user.current_player_id == joined["playerId"]


async def test_presence_is_recorded_on_join_and_leave(server: RunningServer) -> None:
    wallet = Wallet()
    client, _, joined = await enter(server.ws_url, wallet, room="dock")
    await server.node.services.presence.writer.flush()  # a join does not wait for it
    during = await User.find_one(User.wallet_address == wallet.address)

    await client.close()
    after = await disconnected(wallet)

    assert during is not None and during.is_connected
    assert during.current_player_id == joined["playerId"]
    assert during.last_room == "dock" and during.node_id == "node-1"
    assert after is not None and not after.is_connected
    assert after.last_logout_at is not None and after.last_active_at is not None


async def test_logout_revokes_the_session_and_closes_with_1000(server: RunningServer) -> None:
    client, signed, _ = await enter(server.ws_url, Wallet())

    reply = await client.request({"type": "logout", "rid": "bye"})
    code = await closed_with(client)
    async with connect(server.ws_url) as again:
        refused = await again.request({"type": "join", "token": signed["token"]})

    assert reply == {"type": "logged_out", "rid": "bye"}
    assert code == 1000
    assert refused["code"] == "not_authenticated"
    session = await AuthSession.find_one()
    assert session is not None and session.revoked_at is not None


async def test_a_revoked_session_is_closed_with_4003(server: RunningServer) -> None:
    client, signed, _ = await enter(server.ws_url, Wallet())
    session_id = signed["token"] and (await AuthSession.find_one())
    assert session_id is not None

    await server.node.services.auth.revoke(str(session_id.id), "admin")
    await server.node.realtime.sessions.revoke(str(session_id.id))

    assert await closed_with(client) == 4003


async def test_an_expiring_token_closes_the_connection_with_4003(
    settings: Settings, mongo_client: AsyncMongoClient[dict[str, object]]
) -> None:
    async with _server_with(settings, mongo_client, jwt_expiry_seconds=1.5) as server:
        client, _, _ = await enter(server.ws_url, Wallet())

        assert await closed_with(client, timeout=5) == 4003


async def test_guests_join_when_wallet_auth_is_not_required(
    settings: Settings, mongo_client: AsyncMongoClient[dict[str, object]]
) -> None:
    async with (
        _server_with(settings, mongo_client, require_wallet_auth=False) as server,
        connect(server.ws_url) as client,
    ):
        joined = await client.request({"type": "join", "room": "town"})
        moved = await client.request({"type": "change_room", "room": "plaza"})

    assert joined["type"] == "joined"
    assert joined["user"]["guest"] is True and joined["user"]["walletAddress"] is None
    assert joined["players"][0]["username"].startswith("Guest")
    assert moved["room"] == "plaza"
    assert await User.count() == 0


async def test_sign_in_attempts_are_limited_per_connection(server: RunningServer) -> None:
    async with connect(server.ws_url) as client:
        replies = [await client.request({"type": "auth_request"}) for _ in range(11)]

    assert all(r["type"] == "auth_challenge" for r in replies[:10])
    assert replies[10] == {"type": "auth_failure", "error": "rate_limited"}


async def test_sign_in_attempts_are_limited_per_ip(
    settings: Settings, mongo_client: AsyncMongoClient[dict[str, object]]
) -> None:
    async with _server_with(settings, mongo_client, auth_rate_per_ip=3) as server:
        replies = []
        for _ in range(4):
            async with connect(server.ws_url) as client:
                replies.append(await client.request({"type": "auth_request"}))

    assert [r["type"] for r in replies[:3]] == ["auth_challenge"] * 3
    assert replies[3] == {"type": "auth_failure", "error": "rate_limited"}


async def test_a_per_ip_rate_of_zero_turns_the_limit_off(
    settings: Settings, mongo_client: AsyncMongoClient[dict[str, object]]
) -> None:
    async with _server_with(settings, mongo_client, auth_rate_per_ip=0) as server:
        replies = []
        for _ in range(15):
            async with connect(server.ws_url) as client:
                replies.append(await client.request({"type": "auth_request"}))

    assert all(r["type"] == "auth_challenge" for r in replies)
