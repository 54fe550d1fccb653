"""The admin API: bearer tokens with roles, coin adjustments in the ledger, paging."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from bson import ObjectId

from clubpengu.models import AuditLog, AuthSession, Transaction, User
from tests.realtime.support import closed_with
from tests.support import Wallet, enter
from tests.transport.support import Staff


def signed_session_id(token: str) -> ObjectId:
    return ObjectId(jwt.decode(token, options={"verify_signature": False})["sid"])


def _grant(wallet: str, amount: int, key: str, reason: str = "event prize") -> dict[str, Any]:
    return {"walletAddress": wallet, "amount": amount, "reason": reason, "idempotencyKey": key}


@pytest.mark.parametrize("who", [None, "player", "analyst"])
async def test_only_admins_adjust_coins(staff: Staff, who: str | None) -> None:
    target = Wallet()
    await User(wallet_address=target.address, username="T").insert()
    headers = staff.auth(who) if who else {}

    response = await staff.http.post(
        staff.server.url + "/admin/coins", json=_grant(target.address, 10, "k"), headers=headers
    )

    assert response.status_code == (401 if who is None else 403)
    assert await Transaction.count() == 0


async def test_an_admin_grant_lands_in_the_ledger_with_the_admin_as_actor(staff: Staff) -> None:
    target = Wallet()
    client, _, _ = await enter(staff.server.ws_url, target)
    url = staff.server.url + "/admin/coins"

    first = await staff.http.post(
        url, json=_grant(target.address, 40, "g1"), headers=staff.auth("admin")
    )
    again = await staff.http.post(
        url, json=_grant(target.address, 40, "g1"), headers=staff.auth("admin")
    )
    pushed = await client.recv_type("coins")
    await client.close()

    assert first.status_code == 200 and first.json()["balance"] == 40
    assert again.json()["replayed"] is True and again.json()["balance"] == 40
    assert pushed == {"type": "coins", "coins": 40, "delta": 40, "reason": "admin_adjustment"}
    entries = await Transaction.find(Transaction.wallet_address == target.address).to_list()
    assert len(entries) == 1
    assert entries[0].actor == f"admin:{staff.admin.address}"
    assert entries[0].reason == "event prize"


async def test_a_correction_below_zero_is_refused(staff: Staff) -> None:
    target = Wallet()
    await User(wallet_address=target.address, username="T").insert()

    response = await staff.http.post(
        staff.server.url + "/admin/coins", json=_grant(target.address, -5, "c1"),
        headers=staff.auth("admin"),
    )  # fmt: skip

    assert response.status_code == 409
    assert response.json()["code"] == "insufficient_funds"


@pytest.mark.parametrize(
    "body",
    [
        {"walletAddress": "x" * 40, "amount": 5, "reason": "why", "idempotencyKey": "k"},
        {"amount": 5, "reason": "why", "idempotencyKey": "k"},
        {"walletAddress": "W", "amount": 5, "idempotencyKey": "k"},
        {"walletAddress": "W", "amount": "5", "reason": "why", "idempotencyKey": "k"},
        {"walletAddress": "W", "amount": 5, "reason": "why"},
    ],
)
async def test_a_bad_adjustment_is_a_400_and_changes_nothing(
    staff: Staff, body: dict[str, Any]
) -> None:
    target = Wallet()
    await User(wallet_address=target.address, username="T").insert()
    body = {k: (target.address if v == "W" else v) for k, v in body.items()}

    response = await staff.http.post(
        staff.server.url + "/admin/coins", json=body, headers=staff.auth("admin")
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_message"
    assert await Transaction.count() == 0


async def test_staff_read_a_player_but_players_cannot(staff: Staff) -> None:
    target = Wallet()
    await User(wallet_address=target.address, username="Lookup", coins=0).insert()
    url = f"{staff.server.url}/admin/users/{target.address}"

    as_admin = await staff.http.get(url, headers=staff.auth("admin"))
    as_analyst = await staff.http.get(url, headers=staff.auth("analyst"))
    as_player = await staff.http.get(url, headers=staff.auth("player"))
    missing = await staff.http.get(url + "x", headers=staff.auth("admin"))

    assert as_admin.status_code == as_analyst.status_code == 200
    assert as_admin.json()["user"]["username"] == "Lookup"
    assert as_player.status_code == 403
    assert missing.status_code == 404


async def test_the_ledger_pages_newest_first(staff: Staff) -> None:
    target = Wallet()
    await User(wallet_address=target.address, username="T").insert()
    for n in range(5):
        await staff.server.node.services.economy.apply(
            target.address, n + 1, "admin_adjustment", idempotency_key=f"p{n}", actor="t"
        )
    url = f"{staff.server.url}/admin/transactions?wallet={target.address}&limit=2"

    pages, cursor = [], ""
    while True:
        page = (await staff.http.get(url + cursor, headers=staff.auth("analyst"))).json()
        pages.append([entry["amount"] for entry in page["transactions"]])
        if page["next"] is None:
            break
        cursor = f"&before={page['next']}"

    assert pages == [[5, 4], [3, 2], [1]]


async def test_promos_are_created_by_admins_and_listed_for_staff(staff: Staff) -> None:
    url = staff.server.url + "/admin/promos"
    promo = {"code": "SPRING", "coins": 15, "maxRedemptions": 100}

    created = await staff.http.post(url, json=promo, headers=staff.auth("admin"))
    by_analyst = await staff.http.post(
        url, json=promo | {"code": "X1X"}, headers=staff.auth("analyst")
    )
    listed = await staff.http.get(url, headers=staff.auth("analyst"))
    duplicate = await staff.http.post(url, json=promo, headers=staff.auth("admin"))

    assert created.status_code == 200
    assert created.json()["promo"]["createdBy"] == f"admin:{staff.admin.address}"
    assert by_analyst.status_code == 403
    assert [p["code"] for p in listed.json()["promos"]] == ["SPRING"]
    assert duplicate.status_code == 409


async def test_an_admin_revokes_a_player_s_sessions_and_closes_the_connection(
    staff: Staff,
) -> None:
    target = Wallet()
    client, signed, _ = await enter(staff.server.ws_url, target)
    url = staff.server.url + f"/admin/users/{target.address}/revoke"

    by_analyst = await staff.http.post(
        url, json={"reason": "sharing"}, headers=staff.auth("analyst")
    )
    no_reason = await staff.http.post(url, json={}, headers=staff.auth("admin"))
    done = await staff.http.post(url, json={"reason": "sharing"}, headers=staff.auth("admin"))
    code = await closed_with(client)
    session = await AuthSession.get(signed_session_id(signed["token"]))

    assert (by_analyst.status_code, no_reason.status_code) == (403, 400)
    assert done.json() == {"walletAddress": target.address, "revoked": 1}
    assert code == 4003
    assert session is not None and session.revoked_reason == f"admin:{staff.admin.address}: sharing"
    [audited] = await AuditLog.find_all().to_list()
    assert (audited.action, audited.actor, audited.role) == (
        "sessions.revoke",
        staff.admin.address,
        "admin",
    )
    assert (audited.target, audited.reason) == (target.address, "sharing")
    assert (audited.before, audited.after) == ({"liveSessions": 1}, {"liveSessions": 0})
