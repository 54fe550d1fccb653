"""`report` over the WebSocket and the report queue over HTTP, on a real server: the report
keeps the room's chat (the line just said included), its refusals change nothing, and a
moderator works the queue."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from clubpengu.config import Rate, Settings
from clubpengu.models import AuditLog, PlayerReport, User
from tests.support import Client, Wallet, connect, enter
from tests.transport.staff_support import StaffServer, staff_server

Mongo = AsyncMongoClient[dict[str, Any]]


@pytest.fixture
async def staff(settings: Settings, mongo_client: Mongo) -> AsyncIterator[StaffServer]:
    async with staff_server(settings, mongo_client, report_rate=Rate(2, 3600.0)) as running:
        yield running


async def _pair(staff: StaffServer, room: str = "plaza") -> tuple[Client, Client, str, Wallet]:
    """A reporter and a rude player in `room`; the rude one's player id and wallet."""
    reporter, rude, rude_id, _, rude_wallet = await _pair_ids(staff, room)
    return reporter, rude, rude_id, rude_wallet


async def _pair_ids(staff: StaffServer, room: str) -> tuple[Client, Client, str, str, Wallet]:
    rude_wallet = Wallet()
    rude, _, rude_joined = await enter(staff.server.ws_url, rude_wallet, room)
    reporter, _, reporter_joined = await enter(staff.server.ws_url, Wallet(), room)
    await rude.recv_type("player_joined")
    return reporter, rude, rude_joined["playerId"], reporter_joined["playerId"], rude_wallet


async def test_a_report_right_after_a_line_keeps_that_line_with_the_rude_player_s_name(
    staff: StaffServer,
) -> None:
    reporter, rude, rude_id, rude_wallet = await _pair(staff)
    await rude.call({"type": "chat", "text": "you idiot"})

    received = await reporter.call(
        {"type": "report", "playerId": rude_id, "category": "chat", "text": "insulted me"}
    )

    assert received["type"] == "report_received"
    stored = await PlayerReport.get(received["reportId"])
    assert stored is not None
    rude_user = await User.find_one(User.wallet_address == rude_wallet.address)
    assert rude_user is not None
    assert (stored.target_wallet, stored.target_name) == (rude_wallet.address, rude_user.username)
    assert stored.room == "plaza" and stored.category == "chat"
    assert [(line["sent"], line["shown"]) for line in stored.context] == [
        ("you idiot", "you *****")
    ]
    for client in (reporter, rude):
        await client.close()


@pytest.mark.parametrize(
    ("frame", "code"),
    [({"playerId": "p0123456789abcdef", "category": "chat"}, "not_found"),
     ({"category": "chat"}, "invalid_message"),
     ({"playerId": "RUDE", "category": "rudeness"}, "invalid_message"),
     ({"playerId": "RUDE", "category": "chat", "text": "x" * 501}, "invalid_message"),
     ({"playerId": "SELF", "category": "other"}, "invalid_message")],
)  # fmt: skip
async def test_a_refused_report_is_an_error_and_stores_nothing(
    staff: StaffServer, frame: dict[str, Any], code: str
) -> None:
    reporter, rude, rude_id, own_id, _ = await _pair_ids(staff, "plaza")
    names = {"RUDE": rude_id, "SELF": own_id}
    if "playerId" in frame:
        frame = frame | {"playerId": names.get(frame["playerId"], frame["playerId"])}

    refused = await reporter.call({"type": "report", **frame})

    assert refused["type"] == "error" and refused["code"] == code, refused
    assert await PlayerReport.count() == 0
    for client in (reporter, rude):
        await client.close()


async def test_a_report_before_joining_is_not_in_room(staff: StaffServer) -> None:
    async with connect(staff.server.ws_url) as client:
        refused = await client.call({"type": "report", "playerId": "p1", "category": "chat"})

    assert refused["code"] == "not_authenticated"


async def test_reports_beyond_report_rate_are_rate_limited(staff: StaffServer) -> None:
    reporter, rude, rude_id, _ = await _pair(staff)
    report = {"type": "report", "playerId": rude_id, "category": "name"}

    replies = [await reporter.call(report) for _ in range(3)]

    assert [r["type"] for r in replies] == ["report_received", "report_received", "error"]
    assert replies[2]["code"] == "rate_limited"
    assert await PlayerReport.count() == 2
    for client in (reporter, rude):
        await client.close()


async def test_a_moderator_works_the_queue_and_bans_from_a_report(staff: StaffServer) -> None:
    reporter, rude, rude_id, rude_wallet = await _pair(staff)
    await rude.call({"type": "chat", "text": "give me your password"})
    received = await reporter.call({"type": "report", "playerId": rude_id, "category": "chat"})
    report_id = received["reportId"]

    queue = await staff.get("/admin/reports", "moderator", status="open")
    by_analyst = await staff.get("/admin/reports", "analyst")
    path = f"/admin/reports/{report_id}/resolve"
    no_duration = await staff.post(path, "moderator", {"action": "ban", "reason": "phishing"})
    analyst_try = await staff.post(path, "analyst", {"action": "dismiss", "reason": "fine"})
    resolved = await staff.post(
        path, "moderator", {"action": "ban", "reason": "phishing", "duration": "30d"}
    )
    kicked = await rude.recv_type("kicked")
    again = await staff.post(path, "moderator", {"action": "dismiss", "reason": "oops"})
    done = await staff.get("/admin/reports", "moderator", status="resolved")

    [listed] = queue.json()["reports"]
    assert listed["id"] == report_id and listed["status"] == "open"
    assert listed["reported"]["walletAddress"] == rude_wallet.address
    assert [line["sent"] for line in listed["context"]] == ["give me your password"]
    assert by_analyst.status_code == 200
    assert no_duration.status_code == 400 and analyst_try.status_code == 403
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["report"]["resolution"]["action"] == "ban"
    assert kicked == {"type": "kicked", "reason": "BANNED"}
    assert again.status_code == 409
    assert [r["id"] for r in done.json()["reports"]] == [report_id]
    user = await User.find_one(User.wallet_address == rude_wallet.address)
    assert user is not None and user.moderation is not None and user.moderation.ban is not None
    assert [e.action for e in await AuditLog.find_all().to_list()] == ["report.resolve"]
    await reporter.close()


async def test_an_unknown_report_is_404_and_a_bad_status_400(staff: StaffServer) -> None:
    missing = await staff.post(
        "/admin/reports/6b07aaaaaaaaaaaaaaaaaaaa/resolve", "admin",
        {"action": "dismiss", "reason": "gone"},
    )  # fmt: skip
    bad = await staff.get("/admin/reports", "admin", status="everything")

    assert missing.status_code == 404 and bad.status_code == 400
