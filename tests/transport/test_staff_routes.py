"""Every staff route tried by a banned player, a muted player, a moderator, an analyst and
an admin; then the routes of this part one by one: who the caller is, finding players,
the audit trail, and switching promo codes off."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from bson import ObjectId
from pymongo import AsyncMongoClient
from starlette.routing import Route

from clubpengu.config import Settings
from clubpengu.models import AuditLog, PromoCode, User
from clubpengu.services.audit import Staff
from clubpengu.services.staff import prefix_search
from tests.conftest import TEST_DB
from tests.support import Wallet, enter
from tests.transport.staff_support import StaffServer, http_token, staff_server

Mongo = AsyncMongoClient[dict[str, Any]]
A, M, N = "admin", "moderator", "analyst"
# Who may call each staff route (docs/protocol.md §8). A route missing here fails
# test_the_table_names_every_staff_route: a new route comes with its row.
ALLOWED: dict[tuple[str, str], set[str]] = {
    ("GET", "/admin/me"): {A, M, N},
    ("GET", "/admin/users"): {A, M, N},
    ("GET", "/admin/users/{wallet}"): {A, M, N},
    ("GET", "/admin/users/{wallet}/buddies"): {A, M, N},
    ("GET", "/admin/users/{wallet}/connections"): {A, M, N},
    ("GET", "/admin/users/{wallet}/devices"): {A, M, N},
    ("GET", "/admin/users/{wallet}/export"): {A},
    ("POST", "/admin/users/{wallet}/erase"): {A},
    ("POST", "/admin/users/{wallet}/ban"): {A, M},
    ("POST", "/admin/users/{wallet}/unban"): {A, M},
    ("POST", "/admin/users/{wallet}/mute"): {A, M},
    ("POST", "/admin/users/{wallet}/unmute"): {A, M},
    ("POST", "/admin/users/{wallet}/revoke"): {A},
    ("GET", "/admin/reports"): {A, M, N},
    ("POST", "/admin/reports/{id}/resolve"): {A, M},
    ("GET", "/admin/audit"): {A, N},
    ("POST", "/admin/coins"): {A},
    ("GET", "/admin/transactions"): {A, N},
    ("POST", "/admin/promos"): {A},
    ("GET", "/admin/promos"): {A, N},
    ("PATCH", "/admin/promos/{code}"): {A},
    ("GET", "/admin/overview"): {A, N},
    ("GET", "/admin/ledger/verify"): {A, N},
    ("GET", "/admin/report"): {A, N},
    ("GET", "/admin/migrations"): {A, N},
    ("POST", "/admin/migrations/{claim_id}/approve"): {A},
    ("POST", "/admin/migrations/{claim_id}/reject"): {A},
    ("GET", "/admin/economy/suspicious"): {A, M, N},
    ("GET", "/admin/matches"): {A, M, N},
}
CALLERS = ["banned", "muted", M, N, A]


def staff_routes(app: Any) -> set[tuple[str, str]]:
    found = set()
    for route in app.routes:
        if isinstance(route, Route) and route.path.startswith("/admin"):
            found |= {(method, route.path) for method in route.methods or () if method != "HEAD"}
    return found


@pytest.fixture(scope="module")
def players() -> dict[str, Wallet]:
    return {"banned": Wallet(), "muted": Wallet()}


@pytest.fixture
async def staff(
    settings: Settings, mongo_client: Mongo, players: dict[str, Wallet]
) -> AsyncIterator[StaffServer]:
    async with staff_server(settings, mongo_client) as running:
        node = running.server.node
        moderator = Staff(running.moderator.address, M)
        for name, wallet in players.items():
            running.tokens[name] = await http_token(running.http, running.url, wallet)
        await node.services.moderation.ban(moderator, players["banned"].address, "cheats", None)
        await node.services.moderation.mute(moderator, players["muted"].address, "spam", "1h")
        yield running


def test_the_table_names_every_staff_route(settings: Settings) -> None:
    from clubpengu.transport.app import build_app

    assert staff_routes(build_app(settings)) == set(ALLOWED)


@pytest.mark.parametrize(("method", "path"), sorted(ALLOWED))
async def test_every_staff_route_answers_each_caller_by_its_role_now(
    staff: StaffServer, method: str, path: str
) -> None:
    concrete = path.format(
        wallet=Wallet().address, code="NOPE", id=str(ObjectId()), claim_id=str(ObjectId())
    )

    statuses = {}
    for caller in CALLERS:
        response = await staff.http.request(
            method, staff.url + concrete, headers=staff.auth(caller),
            json={} if method in ("POST", "PATCH") else None,
        )  # fmt: skip
        statuses[caller] = response.status_code

    expected_refusal = {c: 403 for c in CALLERS if c not in ALLOWED[(method, path)]} | {
        "banned": 401
    }
    assert {c: s for c, s in statuses.items() if c in expected_refusal} == expected_refusal
    allowed = {c: s for c, s in statuses.items() if c not in expected_refusal}
    assert all(status not in (401, 403, 405, 500) for status in allowed.values()), statuses


async def test_me_is_the_role_in_the_configuration_not_the_token(staff: StaffServer) -> None:
    replies = {who: (await staff.get("/admin/me", who)).json() for who in (A, M, N)}

    assert replies[M] == {"walletAddress": staff.moderator.address, "role": "moderator"}
    assert {who: reply["role"] for who, reply in replies.items()} == {A: A, M: M, N: N}


# --- finding players -------------------------------------------------------------------------


async def _named(*names: str) -> list[str]:
    wallets = []
    for name in names:
        wallet = Wallet().address
        await User(wallet_address=wallet, username=name).insert()
        wallets.append(wallet)
    return wallets


async def test_players_are_found_by_name_prefix_in_any_case_and_paged(
    staff: StaffServer,
) -> None:
    await _named("Waddles", "waddlebug", "WADDLE_KING", "Puffle Pal", "Wad")

    first = await staff.get("/admin/users", M, q="wADDL", limit=2)
    second = await staff.get("/admin/users", M, q="wADDL", limit=2, before=first.json()["next"])

    assert [u["username"] for u in first.json()["users"]] == ["WADDLE_KING", "waddlebug"]
    assert [u["username"] for u in second.json()["users"]] == ["Waddles"]
    assert second.json()["next"] is None
    assert first.json()["users"][0]["moderation"] == {"ban": None, "mute": None}


async def test_players_are_found_by_wallet_prefix_first_then_by_name(
    staff: StaffServer, players: dict[str, Wallet]
) -> None:
    banned = players["banned"].address

    found = await staff.get("/admin/users", N, q=banned[:6])

    [user] = [u for u in found.json()["users"] if u["walletAddress"] == banned]
    assert user["moderation"]["ban"]["until"] is None
    assert user["moderation"]["ban"]["reason"] == "cheats"


@pytest.mark.parametrize(
    "query",
    [
        {"q": ""},
        {"q": "x" * 45},
        {"q": "a", "limit": "0"},
        {"q": "a", "before": "z:nope"},
        {"q": "a", "limit": "many"},
    ],
)
async def test_a_bad_search_is_400(staff: StaffServer, query: dict[str, str]) -> None:
    response = await staff.get("/admin/users", A, **query)

    assert response.status_code == 400 and response.json()["code"] == "invalid_message"


@pytest.mark.parametrize(
    ("field", "prefix", "after", "index"),
    [("usernameLower", "pen", "", "username_unique"),
     ("usernameLower", "pen", "penguin0010", "username_unique"),
     ("walletAddress", "7xK", "", "walletAddress_1")],
)  # fmt: skip
async def test_a_search_walks_an_index_in_order_never_the_collection(
    mongo_client: Mongo, field: str, prefix: str, after: str, index: str
) -> None:
    await _named(*(f"Penguin{n:04d}" for n in range(50)))
    cursor = prefix_search(mongo_client[TEST_DB].users, field, prefix, after)

    plan = await cursor.limit(21).explain()

    text = str(plan["queryPlanner"]["winningPlan"])
    assert "COLLSCAN" not in text and "SORT" not in text and index in text


# --- the audit trail -------------------------------------------------------------------------


async def test_staff_actions_are_audited_and_read_back_by_actor_target_and_action(
    staff: StaffServer, players: dict[str, Wallet]
) -> None:
    target = Wallet()
    client, _, _ = await enter(staff.server.ws_url, target)
    await client.close()
    grant = {"walletAddress": target.address, "amount": 40, "reason": "event prize",
             "idempotencyKey": "k1"}  # fmt: skip
    await staff.post("/admin/coins", A, grant)
    await staff.post("/admin/coins", A, grant)  # replayed: no second entry
    await staff.post(f"/admin/users/{target.address}/mute", M, {"reason": "caps", "duration": "1h"})

    everything = await staff.get("/admin/audit", N)
    by_actor = await staff.get("/admin/audit", A, actor=staff.admin.address)
    by_target = await staff.get("/admin/audit", A, target=target.address)
    by_action = await staff.get("/admin/audit", A, action="mute", limit=1)

    actions = [e["action"] for e in everything.json()["entries"]]
    assert actions == ["mute", "coins.adjust", "mute", "ban"]  # the fixture's mute and ban last
    [coins] = by_actor.json()["entries"]
    assert (coins["role"], coins["target"], coins["reason"]) == (A, target.address, "event prize")
    assert (coins["before"], coins["after"]) == ({"coins": 0}, {"coins": 40})
    assert coins["details"]["amount"] == 40 and coins["source"] == "staff_api"
    assert [e["action"] for e in by_target.json()["entries"]] == ["mute", "coins.adjust"]
    assert by_action.json()["entries"][0]["actor"] == staff.moderator.address
    assert by_action.json()["next"] is not None


async def test_a_bad_audit_page_is_400(staff: StaffServer) -> None:
    bad_cursor = await staff.get("/admin/audit", A, before="nope")
    bad_limit = await staff.get("/admin/audit", A, limit="500")

    assert (bad_cursor.status_code, bad_limit.status_code) == (400, 400)


# --- promo codes -----------------------------------------------------------------------------


async def test_an_admin_switches_a_code_off_and_on_and_each_change_is_audited(
    staff: StaffServer,
) -> None:
    created = await staff.post(
        "/admin/promos", A, {"code": "leaked", "coins": 10, "maxRedemptions": 100}
    )
    player, _, _ = await enter(staff.server.ws_url, Wallet())

    off = await staff.http.patch(
        staff.url + "/admin/promos/Leaked", json={"active": False, "reason": "on a forum"},
        headers=staff.auth(A),
    )  # fmt: skip
    refused = await player.call({"type": "redeem_promo", "code": "LEAKED"})
    later = datetime.now(UTC) + timedelta(days=3)
    on = await staff.http.patch(
        staff.url + "/admin/promos/LEAKED",
        json={"active": True, "expiresAt": later.isoformat(), "maxRedemptions": 5},
        headers=staff.auth(A),
    )  # fmt: skip
    redeemed = await player.call({"type": "redeem_promo", "code": "LEAKED"})
    await player.close()

    assert created.status_code == 200 and off.status_code == 200
    assert off.json()["promo"]["active"] is False and off.json()["before"]["active"] is True
    assert refused == {
        "type": "error",
        "code": "expired",
        "message": "This promo code is not active",
    }
    assert on.json()["promo"]["maxRedemptions"] == 5 and on.json()["promo"]["active"] is True
    assert redeemed["type"] == "promo_result"
    entries = await AuditLog.find(AuditLog.target == "promo:LEAKED").sort("at").to_list()
    assert [e.action for e in entries] == ["promo.create", "promo.update", "promo.update"]
    assert entries[1].before is not None and entries[1].before["active"] is True
    assert entries[1].after is not None and entries[1].after["active"] is False
    assert entries[1].reason == "on a forum" and entries[2].reason is None


@pytest.mark.parametrize(
    ("body", "status"),
    [({}, 400), ({"active": "no"}, 400), ({"active": None}, 400), ({"maxRedemptions": 0}, 400),
     ({"expiresAt": "2000-01-01T00:00:00Z"}, 400), ({"colour": "red"}, 400),
     ({"maxRedemptions": 1}, 400)],
)  # fmt: skip
async def test_a_bad_promo_change_is_refused_and_changes_nothing(
    staff: StaffServer, body: dict[str, Any], status: int
) -> None:
    await staff.post("/admin/promos", A, {"code": "SUMMER", "coins": 10, "maxRedemptions": 100})
    await PromoCode.find_one(PromoCode.code == "SUMMER").update({"$set": {"redeemedCount": 2}})
    before = await PromoCode.find_one(PromoCode.code == "SUMMER")

    response = await staff.http.patch(
        staff.url + "/admin/promos/SUMMER", json=body, headers=staff.auth(A)
    )

    assert response.status_code == status, response.text
    assert await PromoCode.find_one(PromoCode.code == "SUMMER") == before
    assert await AuditLog.find(AuditLog.action == "promo.update").count() == 0


async def test_changing_an_unknown_code_is_404(staff: StaffServer) -> None:
    response = await staff.http.patch(
        staff.url + "/admin/promos/NOPE", json={"active": False}, headers=staff.auth(A)
    )

    assert response.status_code == 404


# --- absurd parameters -----------------------------------------------------------------------

ABSURD = {
    "window": "99999999999999999999d", "limit": "99999999999999999999", "before": "\x00" * 3,
    "status": "x" * 500, "q": "%" * 45, "wallet": "0" * 300, "type": "$where",
    "from": "99999-99-99", "to": "0000-00-00", "actor": "{}", "target": "[]", "action": "a" * 65,
}  # fmt: skip


@pytest.mark.parametrize(
    "path", sorted(path for method, path in ALLOWED if method == "GET" and path != "/admin/me")
)
async def test_an_absurd_query_parameter_is_a_400_never_a_500(
    staff: StaffServer, path: str
) -> None:
    concrete = path.format(wallet=Wallet().address)

    answers = {
        name: await staff.get(concrete, A, **{name: value}) for name, value in ABSURD.items()
    }

    statuses = {name: response.status_code for name, response in answers.items()}
    assert set(statuses.values()) <= {200, 400, 404}, statuses
    assert all(
        r.json()["code"] == "invalid_message" for r in answers.values() if r.status_code == 400
    )
