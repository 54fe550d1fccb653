"""The HTTP twin of sign-in, and bearer checks."""

from __future__ import annotations

import httpx
import jwt
import pytest
from pymongo import AsyncMongoClient

from clubpengu.config import Settings
from clubpengu.models import AuthChallenge, AuthSession, User
from tests.conftest import TEST_SECRET
from tests.realtime.support import closed_with
from tests.support import RunningServer, Wallet, enter, http_sign_in, http_token, run_server


async def test_http_sign_in_returns_the_auth_success_body(server: RunningServer) -> None:
    wallet = Wallet()
    async with httpx.AsyncClient() as http:
        challenge = await http.post(server.url + "/auth/challenge", json={})
        response = (await http_sign_in(server.url, wallet, http)).response

    assert challenge.status_code == 200
    assert set(challenge.json()) == {"challengeId", "nonce", "expiresAt"}
    body = response.json()
    assert response.status_code == 200
    assert body["type"] == "auth_success"
    assert body["isNewUser"] is True
    assert body["user"]["walletAddress"] == wallet.address
    assert jwt.decode(body["token"], TEST_SECRET, algorithms=["HS256"])["sub"] == wallet.address


async def test_an_http_challenge_is_single_use(server: RunningServer) -> None:
    wallet = Wallet()
    async with httpx.AsyncClient() as http:
        challenge = (await http.post(server.url + "/auth/challenge", json={})).json()
        verify = {
            "challengeId": challenge["challengeId"],
            "walletAddress": wallet.address,
            "signature": wallet.sign(challenge["nonce"]),
        }
        first = await http.post(server.url + "/auth/verify", json=verify)
        second = await http.post(server.url + "/auth/verify", json=verify)

    assert first.status_code == 200
    assert second.status_code == 401
    assert second.json() == {"type": "auth_failure", "error": "no_challenge"}


async def test_http_verify_with_an_unknown_challenge_id(server: RunningServer) -> None:
    wallet = Wallet()
    async with httpx.AsyncClient() as http:
        response = await http.post(
            server.url + "/auth/verify",
            json={"challengeId": "nope", "walletAddress": wallet.address, "signature": "x"},
        )

    assert response.json()["error"] == "no_challenge"


async def test_http_sign_in_rejects_bad_json(server: RunningServer) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.post(server.url + "/auth/verify", content=b"{nope")

    assert response.status_code == 400
    assert response.json()["code"] == "bad_json"


@pytest.mark.parametrize(
    "fields",
    [{"signature": "x"}, {"walletAddress": 5, "signature": "x"}, {"walletAddress": "W"}],
)
async def test_http_verify_without_text_wallet_or_signature_is_400_invalid_message(
    server: RunningServer, fields: dict[str, object]
) -> None:
    wallet = Wallet()
    async with httpx.AsyncClient() as http:
        challenge = (await http.post(server.url + "/auth/challenge")).json()
        sent = {k: wallet.address if v == "W" else v for k, v in fields.items()}
        response = await http.post(
            server.url + "/auth/verify", json={"challengeId": challenge["challengeId"], **sent}
        )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_message"
    assert await User.count() == 0
    assert await AuthChallenge.count() == 1  # the refused request used nothing up


async def test_an_http_challenge_for_a_malformed_wallet_is_refused(server: RunningServer) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.post(server.url + "/auth/challenge", json={"walletAddress": "0O"})

    assert response.status_code == 400
    assert response.json() == {"type": "auth_failure", "error": "invalid_wallet"}


async def test_admin_wallets_get_the_admin_role_over_http(
    settings: Settings, mongo_client: AsyncMongoClient[dict[str, object]]
) -> None:
    admin, player = Wallet(), Wallet()
    admin_settings = settings.with_overrides(admin_wallets=frozenset({admin.address}))
    async with run_server(admin_settings, mongo_client) as server, httpx.AsyncClient() as http:
        admin_token = await http_token(server.url, admin, http)
        player_token = await http_token(server.url, player, http)

    assert jwt.decode(admin_token, TEST_SECRET, algorithms=["HS256"])["role"] == "admin"
    assert "role" not in jwt.decode(player_token, TEST_SECRET, algorithms=["HS256"])


async def test_http_sign_in_is_rate_limited_per_ip(
    settings: Settings, mongo_client: AsyncMongoClient[dict[str, object]]
) -> None:
    limited = settings.with_overrides(auth_rate_per_ip=2)
    async with run_server(limited, mongo_client) as server, httpx.AsyncClient() as http:
        statuses = [(await http.post(server.url + "/auth/challenge")).status_code for _ in range(3)]

    assert statuses == [200, 200, 429]


# --- logout over HTTP ------------------------------------------------------------------------


async def test_http_logout_revokes_the_tokens_session_and_closes_its_sockets(
    settings: Settings, mongo_client: AsyncMongoClient[dict[str, object]]
) -> None:
    admin = Wallet()
    staffed = settings.with_overrides(admin_wallets=frozenset({admin.address}))
    async with run_server(staffed, mongo_client) as server, httpx.AsyncClient() as http:
        client, signed, _ = await enter(server.ws_url, admin)
        other = await http_token(server.url, admin, http)  # another session of the wallet
        bearer = {"Authorization": f"Bearer {signed['token']}"}
        before = await http.get(server.url + "/admin/me", headers=bearer)

        first = await http.post(server.url + "/auth/logout", headers=bearer)
        code = await closed_with(client)
        after = await http.get(server.url + "/admin/me", headers=bearer)
        again = await http.post(server.url + "/auth/logout", headers=bearer)
        untouched = await http.get(
            server.url + "/admin/me", headers={"Authorization": f"Bearer {other}"}
        )

    assert before.status_code == 200
    assert (first.status_code, first.json()) == (200, {"type": "logged_out", "revoked": True})
    assert code == 4003
    assert after.status_code == 401 and after.json()["code"] == "not_authenticated"
    assert (again.status_code, again.json()) == (200, {"type": "logged_out", "revoked": False})
    assert untouched.status_code == 200  # only the token's own session ends
    ended = await AuthSession.find(AuthSession.revoked_at != None).to_list()  # noqa: E711
    assert [s.revoked_reason for s in ended] == ["logout"]


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer not-a-token", "Basic abc"])
async def test_http_logout_without_a_valid_token_is_401_and_ends_nothing(
    server: RunningServer, header: str | None
) -> None:
    async with httpx.AsyncClient() as http:
        await http_token(server.url, Wallet(), http)
        headers = {"Authorization": header} if header else {}
        response = await http.post(server.url + "/auth/logout", headers=headers)

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert await AuthSession.find(AuthSession.revoked_at != None).count() == 0  # noqa: E711
