"""The console's read routes over HTTP: overview, player record, ledger check, report; each
for admins and analysts, refused to players (403) and to anonymous callers (401)."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from clubpengu.models import AuthSession, Puffle, User
from tests.support import Wallet, connect, enter
from tests.transport.support import Staff
from tests.waiting import eventually

READ_ROUTES = [
    "/admin/overview",
    "/admin/ledger/verify",
    "/admin/report",
    "/admin/users/{player}",
]


@pytest.mark.parametrize("route", READ_ROUTES)
@pytest.mark.parametrize(
    ("who", "status"), [("admin", 200), ("analyst", 200), ("player", 403), (None, 401)]
)
async def test_read_routes_answer_staff_only(
    staff: Staff, route: str, who: str | None, status: int
) -> None:
    path = route.format(player=staff.player.address)

    response = await staff.get(path, who)

    assert response.status_code == status, response.text
    if status != 200:
        assert response.json()["code"] == ("forbidden" if who else "not_authenticated")


async def test_the_overview_counts_live_connections_rooms_sign_ins_and_coin_flow(
    staff: Staff,
) -> None:
    walker, _, _ = await enter(staff.server.ws_url, Wallet(), room="plaza")
    async with connect(staff.server.ws_url) as lurker:
        await lurker.request({"type": "ping"})
        await staff.http.post(
            staff.server.url + "/admin/coins",
            json={"walletAddress": staff.player.address, "amount": 30, "reason": "welcome",
                  "idempotencyKey": "ov1"},
            headers={"Authorization": f"Bearer {staff.tokens['admin']}"},
        )  # fmt: skip
        body = await _poll(staff, lambda b: b["signIns"]["succeeded"] >= 4)
    await walker.close()

    assert body["connections"] == {"open": 2, "signedIn": 1, "guests": 0, "anonymous": 1}
    assert body["playersOnline"] == 1
    plaza = next(room for room in body["rooms"] if room["id"] == "plaza")
    assert plaza["population"] == 1
    assert plaza["instances"] == [{"id": "plaza", "population": 1, "capacity": 80}]
    assert next(room for room in body["rooms"] if room["id"] == "town")["population"] == 0
    assert body["signIns"] == {"succeeded": 4, "failed": 0}  # three staff fixtures + walker
    assert body["coinFlow"] == [
        {"type": "admin_adjustment", "created": 30, "destroyed": 0, "entries": 1}
    ]


async def _poll(staff: Staff, ready: Any) -> dict[str, Any]:
    """Sign-in events are written in the background about once a second."""
    overview = functools.partial(staff.read, "/admin/overview", window="1h")
    body: dict[str, Any] = await eventually(overview, "the overview counts it", ready=ready)
    return body


async def test_a_failed_sign_in_is_counted_in_the_overview(staff: Staff) -> None:
    async with connect(staff.server.ws_url) as client:
        await client.request({"type": "auth_request"})
        failed = await client.request(
            {"type": "auth_verify", "walletAddress": Wallet().address, "signature": "1" * 88}
        )

    body = await _poll(staff, lambda b: b["signIns"]["failed"] == 1)

    assert failed["type"] == "auth_failure"
    assert body["signIns"]["failed"] == 1


@pytest.mark.parametrize(
    "window", ["forever", "0s", "32d", "99999999999999999999d", "9" * 5000 + "s", "999999999999d"]
)
async def test_a_bad_overview_window_is_refused(staff: Staff, window: str) -> None:
    response = await staff.get("/admin/overview", window=window)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_message"
    assert "window" in response.json()["message"]


async def test_the_player_record_has_presence_inventory_puffles_sessions_and_connections(
    staff: Staff,
) -> None:
    client, _, _ = await enter(staff.server.ws_url, staff.player)
    await Puffle(owner_wallet=staff.player.address, name="Bubbles", color="blue").insert()
    await Puffle(
        owner_wallet=staff.player.address, name="Gone", color="red", released_at=datetime.now(UTC)
    ).insert()
    await client.close()
    await eventually(lambda: _has_connection_log(staff))

    record = await staff.read(f"/admin/users/{staff.player.address}")

    user = record["user"]
    assert user["walletAddress"] == staff.player.address
    assert user["inventory"] == {} and user["unlockedMounts"] == ["none"]
    assert user["isConnected"] is False and user["lastRoom"] == "town"
    assert [p["name"] for p in record["puffles"]] == ["Bubbles"]
    sessions = await AuthSession.find(AuthSession.wallet_address == staff.player.address).count()
    assert len(record["sessions"]) == sessions == 2  # the HTTP sign-in and the WebSocket one
    assert record["connections"][0]["roomsVisited"] == ["town"]
    assert record["connections"][0]["closeCode"] == 1000


async def _has_connection_log(staff: Staff) -> bool:
    record = await staff.read(f"/admin/users/{staff.player.address}")
    return bool(record["connections"])


async def test_an_unknown_player_is_not_found(staff: Staff) -> None:
    response = await staff.get(f"/admin/users/{Wallet().address}")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


async def test_the_ledger_check_reports_a_consistent_ledger(staff: Staff) -> None:
    await staff.http.post(
        staff.server.url + "/admin/coins",
        json={"walletAddress": staff.player.address, "amount": 12, "reason": "prize",
              "idempotencyKey": "l1"},
        headers={"Authorization": f"Bearer {staff.tokens['admin']}"},
    )  # fmt: skip

    body = await staff.read("/admin/ledger/verify")

    assert body["ok"] is True and body["mismatchCount"] == 0 and body["mismatches"] == []
    assert body["users"] == 3 and body["transactions"] == 1


async def test_the_ledger_check_lists_a_balance_that_differs_from_its_entries(
    staff: Staff,
) -> None:
    tampered = Wallet()
    await User(wallet_address=tampered.address, username="Tampered", coins=40).insert()

    body = await staff.read("/admin/ledger/verify")

    assert body["ok"] is False and body["mismatchCount"] == 1
    assert body["mismatches"] == [
        {
            "walletAddress": tampered.address,
            "balance": 40,
            "ledgerSum": 0,
            "entries": 0,
            "problem": "balance differs from the ledger",
        }
    ]


async def test_the_report_covers_the_range_asked_for(staff: Staff) -> None:
    await staff.http.post(
        staff.server.url + "/admin/coins",
        json={"walletAddress": staff.player.address, "amount": 7, "reason": "prize",
              "idempotencyKey": "r1"},
        headers={"Authorization": f"Bearer {staff.tokens['admin']}"},
    )  # fmt: skip
    today = datetime.now(UTC).date()
    tomorrow = today + timedelta(days=1)

    body = await staff.read("/admin/report", **{"from": str(today), "to": str(tomorrow)})
    earlier = await staff.read("/admin/report", **{"from": "2020-01-01", "to": "2020-02-01"})

    assert body["from"] == str(today) and body["to"] == str(tomorrow)
    assert set(body["sections"]) == {
        "daily_active_players", "new_players", "sign_ins", "coin_flow",
        "top_purchased_items", "matches", "puffles_adopted",
    }  # fmt: skip
    assert body["sections"]["coin_flow"] == [
        {"type": "admin_adjustment", "created": 7, "destroyed": 0, "entries": 1}
    ]
    assert body["sections"]["new_players"] == [{"day": str(today), "players": 3}]
    # Sections by day have a row for every day of the range, zeros where nothing happened.
    for rows in earlier["sections"].values():
        assert all(value == 0 for row in rows for key, value in row.items() if key != "day")
    assert len(earlier["sections"]["sign_ins"]) == 31 and earlier["sections"]["coin_flow"] == []


async def test_the_report_without_a_range_covers_the_clis_default_range(staff: Staff) -> None:
    """The console runs the report without a range first: the days it shows are those
    `clubpengu report` covers without one (services/report.py's `default_range`)."""
    from clubpengu.services.report import default_range

    before = default_range()
    body = await staff.read("/admin/report")
    after = default_range()

    shown = (body["from"], body["to"])
    assert shown in {(str(s.date()), str(e.date())) for s, e in (before, after)}
    assert len(body["sections"]["sign_ins"]) == 30
    assert body["sections"]["sign_ins"][-1]["day"] == str((after[1] - timedelta(days=1)).date())


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"from": "yesterday"}, "from:"),
        ({"from": "2026-02-01", "to": "2026-01-01"}, "to: must be after from"),
        ({"from": "2020-01-01", "to": "2026-01-01"}, "at most 366 days"),
        ({"to": "0001-01-10"}, "to: too early"),
        ({"from": "9" * 5000}, "from:"),
    ],
)
async def test_a_bad_report_range_is_refused(
    staff: Staff, params: dict[str, str], problem: str
) -> None:
    response = await staff.get("/admin/report", **params)

    assert response.status_code == 400
    assert problem in response.json()["message"]
