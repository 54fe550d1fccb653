"""Bans and mutes as players meet them, on a real server: the kick, the refused sign-ins and
joins, the refused chat nobody else sees, and the end of a sanction."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from clubpengu.config import Settings
from clubpengu.models import AuthSession, Moderation, Sanction, User
from clubpengu.models.base import utcnow
from tests.realtime.support import closed_with
from tests.support import Wallet, connect, enter, sign_in
from tests.transport.staff_support import StaffServer, http_token, staff_server
from tests.waiting import eventually, silent

Client = AsyncMongoClient[dict[str, Any]]


@pytest.fixture
async def staff(settings: Settings, mongo_client: Client) -> AsyncIterator[StaffServer]:
    async with staff_server(settings, mongo_client) as running:
        yield running


async def _sanction(wallet: str, kind: str, until_delta: timedelta | None) -> None:
    """A ban or mute stored as the moderation service stores one."""
    now = utcnow()
    until = now + until_delta if until_delta is not None else None
    sanction = Sanction(until=until, reason="stored by the test", by="someone", at=now)
    user = await User.find_one(User.wallet_address == wallet)
    assert user is not None
    await user.set({User.moderation: Moderation(**{kind: sanction})})


async def test_a_ban_kicks_the_player_with_banned_and_4003_within_a_second(
    staff: StaffServer,
) -> None:
    player = Wallet()
    client, _, _ = await enter(staff.server.ws_url, player)

    started = time.monotonic()
    response = await staff.post(
        f"/admin/users/{player.address}/ban", "moderator",
        {"reason": "cheating", "duration": "7d", "note": "ticket 7"},
    )  # fmt: skip
    kicked = await client.recv_type("kicked")
    code = await closed_with(client)
    elapsed = time.monotonic() - started

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["action"] == "ban" and body["until"].endswith("Z")
    assert body["sessionsRevoked"] == 1
    assert kicked == {"type": "kicked", "reason": "BANNED"}
    assert code == 4003 and elapsed < 1.0
    live = {"walletAddress": player.address, "revokedAt": None}
    assert await AuthSession.get_pymongo_collection().count_documents(live) == 0


async def test_a_ban_also_closes_a_connection_signed_in_but_not_joined(
    staff: StaffServer,
) -> None:
    player = Wallet()
    async with connect(staff.server.ws_url) as client:
        await sign_in(client, player)

        await staff.post(
            f"/admin/users/{player.address}/ban", "admin", {"reason": "spam", "duration": None}
        )
        kicked = await client.recv_type("kicked")
        code = await closed_with(client)

    assert kicked["reason"] == "BANNED" and code == 4003


async def test_a_banned_wallet_signing_in_is_refused_with_until_and_gets_no_session(
    staff: StaffServer,
) -> None:
    player = Wallet()
    first, _, _ = await enter(staff.server.ws_url, player)
    await first.close()
    await staff.post(
        f"/admin/users/{player.address}/ban", "moderator", {"reason": "cheating", "duration": None}
    )
    sessions = await AuthSession.count()

    async with connect(staff.server.ws_url) as client:
        challenge = await client.request({"type": "auth_request"})
        refused = await client.request({
            "type": "auth_verify", "walletAddress": player.address,
            "signature": player.sign(challenge["nonce"]), "rid": 1,
        })  # fmt: skip
    over_http = await staff.http.post(
        staff.url + "/auth/challenge", json={"walletAddress": player.address}
    )
    challenge_id, nonce = over_http.json()["challengeId"], over_http.json()["nonce"]
    verified = await staff.http.post(staff.url + "/auth/verify", json={
        "challengeId": challenge_id, "walletAddress": player.address,
        "signature": player.sign(nonce),
    })  # fmt: skip

    assert refused == {"type": "auth_failure", "error": "banned", "until": None, "rid": 1}
    assert verified.status_code == 403
    assert verified.json() == {"type": "auth_failure", "error": "banned", "until": None}
    assert await AuthSession.count() == sessions


async def test_a_join_with_a_token_from_before_the_ban_is_refused_as_banned(
    staff: StaffServer,
) -> None:
    player = Wallet()
    first, signed, _ = await enter(staff.server.ws_url, player)
    await first.close()

    ban = await staff.post(
        f"/admin/users/{player.address}/ban", "moderator", {"reason": "cheat", "duration": "24h"}
    )
    async with connect(staff.server.ws_url) as client:
        refused = await client.call({"type": "join", "token": signed["token"], "room": "town"})

    assert refused["type"] == "error" and refused["code"] == "banned"
    assert refused["until"] == ban.json()["until"]
    assert "until" in refused["message"]


async def test_a_ban_that_has_expired_lets_the_player_in_with_nothing_else_to_do(
    staff: StaffServer,
) -> None:
    player = Wallet()
    first, _, _ = await enter(staff.server.ws_url, player)
    await first.close()
    await _sanction(player.address, "ban", timedelta(seconds=-1))

    client, _, joined = await enter(staff.server.ws_url, player)
    await client.close()

    assert joined["type"] == "joined"


async def test_a_muted_player_s_chat_is_refused_with_until_and_nobody_else_sees_it(
    staff: StaffServer,
) -> None:
    muted, other = Wallet(), Wallet()
    talker, _, _ = await enter(staff.server.ws_url, muted, "plaza")
    listener, _, _ = await enter(staff.server.ws_url, other, "plaza")
    await talker.recv_type("player_joined")

    response = await staff.post(
        f"/admin/users/{muted.address}/mute", "moderator", {"reason": "spam", "duration": "1h"}
    )
    refused = await talker.call({"type": "chat", "text": "buy coins at scam.example"})
    emote = await talker.call({"type": "emote", "emote": "wave"})
    heard = await listener.recv_type("emote")
    no_chat = await silent(listener, 0.3, "chat")

    assert response.status_code == 200
    assert refused["type"] == "error" and refused["code"] == "muted"
    assert refused["until"] == response.json()["until"]
    assert emote == {"type": "ok"} and heard["emote"] == "wave"
    assert no_chat
    for client in (talker, listener):
        await client.close()


async def test_an_unmute_lets_the_player_chat_again_at_once(staff: StaffServer) -> None:
    player = Wallet()
    client, _, _ = await enter(staff.server.ws_url, player)
    await staff.post(
        f"/admin/users/{player.address}/mute", "admin", {"reason": "spam", "duration": None}
    )
    refused = await client.call({"type": "chat", "text": "hello?"})

    path = f"/admin/users/{player.address}/unmute"
    lifted = await staff.post(path, "admin", {"reason": "served"})
    unlifted = await staff.post(path, "admin", {"reason": "twice"})
    said = await client.call({"type": "chat", "text": "hello again"})
    await client.close()

    assert refused["code"] == "muted" and refused["until"] is None
    assert lifted.status_code == 200 and lifted.json()["action"] == "unmute"
    assert unlifted.status_code == 409 and unlifted.json()["code"] == "conflict"
    assert said == {"type": "ok"}


async def test_a_player_muted_while_away_is_muted_when_they_join(staff: StaffServer) -> None:
    player = Wallet()
    first, _, _ = await enter(staff.server.ws_url, player)
    await first.close()
    await _sanction(player.address, "mute", timedelta(hours=1))

    client, _, _ = await enter(staff.server.ws_url, player)
    refused = await client.call({"type": "chat", "text": "am I muted?"})
    await client.close()

    assert refused["code"] == "muted" and refused["until"].endswith("Z")


async def test_a_player_muted_between_sign_in_and_join_is_muted_once_seated(
    staff: StaffServer,
) -> None:
    # The join takes the user its sign-in returned, from before the mute: the mute that
    # reached the signed-in connection must stand.
    player = Wallet()
    async with connect(staff.server.ws_url) as client:
        await sign_in(client, player)
        muted = await staff.post(
            f"/admin/users/{player.address}/mute", "moderator", {"reason": "spam", "duration": "1h"}
        )
        joined = await client.call({"type": "join", "room": "town"})
        refused = await client.call({"type": "chat", "text": "am I muted?"})

    assert muted.status_code == 200
    assert joined["type"] == "joined"
    assert refused["code"] == "muted" and refused["until"] == muted.json()["until"]


async def test_a_player_unmuted_between_sign_in_and_join_may_chat_once_seated(
    staff: StaffServer,
) -> None:
    player = Wallet()
    first, _, _ = await enter(staff.server.ws_url, player)
    await first.close()
    await _sanction(player.address, "mute", timedelta(hours=1))
    async with connect(staff.server.ws_url) as client:
        await sign_in(client, player)
        lifted = await staff.post(
            f"/admin/users/{player.address}/unmute", "moderator", {"reason": "served"}
        )
        joined = await client.call({"type": "join", "room": "town"})
        said = await client.call({"type": "chat", "text": "hello"})

    assert lifted.status_code == 200
    assert joined["type"] == "joined"
    assert said == {"type": "ok"}


async def test_a_player_banned_between_sign_in_and_join_is_never_seated(
    staff: StaffServer,
) -> None:
    player = Wallet()
    async with connect(staff.server.ws_url) as client:
        await sign_in(client, player)
        banned = await staff.post(
            f"/admin/users/{player.address}/ban",
            "moderator",
            {"reason": "cheating", "duration": "7d"},
        )
        kicked = await client.recv_type("kicked")
        code = await closed_with(client)

    assert banned.status_code == 200
    assert kicked["reason"] == "BANNED" and code == 4003
    user = await User.find_one(User.wallet_address == player.address)
    assert user is not None and not user.is_connected and user.last_room is None


async def test_a_mute_ends_by_itself_when_its_time_is_up(staff: StaffServer) -> None:
    player = Wallet()
    first, _, _ = await enter(staff.server.ws_url, player)
    await first.close()
    await _sanction(player.address, "mute", timedelta(seconds=1))

    client, _, _ = await enter(staff.server.ws_url, player)
    before = await client.call({"type": "chat", "text": "now?"})
    after = await eventually(
        lambda: client.call({"type": "chat", "text": "now!"}),
        "the mute lapses",
        ready=lambda reply: reply["type"] == "ok",
    )
    await client.close()

    assert before["code"] == "muted" and after == {"type": "ok"}


async def test_a_banned_staff_token_is_not_a_thing_staff_cannot_be_banned(
    staff: StaffServer,
) -> None:
    response = await staff.post(
        f"/admin/users/{staff.admin.address}/ban", "moderator", {"reason": "coup", "duration": None}
    )

    assert response.status_code == 403 and response.json()["code"] == "forbidden"
    assert await http_token(staff.http, staff.url, staff.admin)  # still signs in
