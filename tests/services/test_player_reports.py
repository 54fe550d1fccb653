"""Player reports against the real database: kept with their chat context, limited per
player, resolved once (dismiss, mute or ban) with one audit entry, or not at all."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from clubpengu.config import Rate
from clubpengu.errors import Conflict, Forbidden, InvalidMessage, NotFound, RateLimited
from clubpengu.models import AuditLog, ModerationAction, PlayerReport, User
from clubpengu.services.audit import AuditTrail, Staff
from clubpengu.services.auth import AuthConfig, AuthService
from clubpengu.services.chat_log import ChatLog
from clubpengu.services.economy import EconomyService
from clubpengu.services.moderation import ModerationService
from clubpengu.services.player_reports import Party, ReportService
from tests.conftest import TEST_DB
from tests.services.conftest import Client, user_doc
from tests.services.test_moderation import Nodes
from tests.support import MovableClock, Wallet

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
MOD_WALLET = Wallet().address
MOD = Staff(MOD_WALLET, "moderator")


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(NOW)


@pytest.fixture
def chat_log(mongo_client: Client, clock: MovableClock) -> ChatLog:
    return ChatLog(mongo_client, TEST_DB, "node-t", 86400.0, clock=clock)


def service(
    mongo_client: Client,
    economy: EconomyService,
    chat_log: ChatLog,
    clock: MovableClock,
    rate: Rate,
) -> ReportService:
    config = AuthConfig(
        domain="test", challenge_ttl=timedelta(minutes=5), jwt_secret="s" * 40,
        jwt_expiry=timedelta(days=7), moderator_wallets=frozenset({MOD_WALLET}),
    )  # fmt: skip
    auth = AuthService(config, clock=clock)
    audit = AuditTrail(mongo_client, TEST_DB, clock=clock)
    moderation = ModerationService(
        mongo_client, TEST_DB, economy, audit, auth, Nodes(), clock=clock
    )
    return ReportService(
        mongo_client, TEST_DB, economy, moderation, audit, chat_log, rate, clock=clock
    )


@pytest.fixture
def reports(
    mongo_client: Client, economy: EconomyService, chat_log: ChatLog, clock: MovableClock
) -> ReportService:
    return service(mongo_client, economy, chat_log, clock, Rate(5, 3600.0))


async def players() -> tuple[Party, Party]:
    reporter, reported = Wallet().address, Wallet().address
    await User(wallet_address=reporter, username="Reporter").insert()
    await User(wallet_address=reported, username="Rude").insert()
    return Party(reporter, "Reporter", "p1"), Party(reported, "Rude", "p2")


async def test_a_report_keeps_who_about_whom_where_and_the_room_s_last_lines(
    reports: ReportService, chat_log: ChatLog
) -> None:
    reporter, reported = await players()
    for n in range(25):
        chat_log.record("town~2", reported.wallet, "p2", "Rude", f"line {n}", f"line {n}")
    chat_log.record("plaza", reported.wallet, "p2", "Rude", "elsewhere", "elsewhere")

    report_id = await reports.report(reporter, reported, "town~2", "chat", "  rude to me  ")

    stored = await PlayerReport.get(report_id)
    assert stored is not None and stored.status == "open"
    assert (stored.reporter_wallet, stored.target_wallet, stored.target_name) == (
        reporter.wallet,
        reported.wallet,
        "Rude",
    )
    assert (stored.room, stored.category, stored.text) == ("town~2", "chat", "rude to me")
    assert [line["sent"] for line in stored.context] == [f"line {n}" for n in range(5, 25)]


async def test_reporting_yourself_is_refused(reports: ReportService) -> None:
    reporter, _ = await players()

    with pytest.raises(InvalidMessage):
        await reports.report(reporter, reporter, "town", "other", None)

    assert await PlayerReport.count() == 0


async def test_a_player_sends_at_most_the_rate_s_reports_counted_across_nodes(
    mongo_client: Client, economy: EconomyService, chat_log: ChatLog, clock: MovableClock
) -> None:
    reporter, reported = await players()
    rate = Rate(2, 3600.0)
    node_a = service(mongo_client, economy, chat_log, clock, rate)
    node_b = service(mongo_client, economy, chat_log, clock, rate)

    await node_a.report(reporter, reported, "town", "chat", None)
    await node_b.report(reporter, reported, "town", "name", None)
    with pytest.raises(RateLimited):
        await node_b.report(reporter, reported, "town", "other", None)
    clock.now += timedelta(hours=1, seconds=1)
    await node_a.report(reporter, reported, "town", "other", None)

    assert await PlayerReport.count() == 3


async def test_dismissing_closes_the_report_with_one_audit_entry(reports: ReportService) -> None:
    reporter, reported = await players()
    report_id = await reports.report(reporter, reported, "town", "chat", None)

    resolved = await reports.resolve(MOD, report_id, "dismiss", "banter between friends")

    assert resolved["status"] == "resolved"
    assert resolved["resolution"]["action"] == "dismiss"
    assert resolved["resolution"]["by"] == MOD_WALLET
    [entry] = await AuditLog.find_all().to_list()
    assert (entry.action, entry.target, entry.reason) == (
        "report.resolve",
        reported.wallet,
        "banter between friends",
    )
    assert entry.details["reportId"] == report_id
    assert await ModerationAction.count() == 0


@pytest.mark.parametrize("action", ["mute", "ban"])
async def test_resolving_with_a_sanction_applies_it_and_writes_one_audit_entry(
    reports: ReportService, mongo_client: Client, action: str
) -> None:
    reporter, reported = await players()
    report_id = await reports.report(reporter, reported, "town", "chat", None)

    resolved = await reports.resolve(MOD, report_id, action, "slurs in chat", "7d")

    assert reported.wallet is not None
    sanction = (await user_doc(mongo_client, reported.wallet))["moderation"][action]
    assert sanction["until"] == NOW + timedelta(days=7)
    [history] = await ModerationAction.find_all().to_list()
    assert (history.action, history.report_id) == (action, report_id)
    assert [e.action for e in await AuditLog.find_all().to_list()] == ["report.resolve"]
    assert resolved["resolution"]["until"] == "2026-06-08T12:00:00.000Z"


async def test_a_second_resolution_is_a_conflict_and_changes_nothing(
    reports: ReportService, mongo_client: Client
) -> None:
    reporter, reported = await players()
    report_id = await reports.report(reporter, reported, "town", "chat", None)
    await reports.resolve(MOD, report_id, "dismiss", "fine")

    with pytest.raises(Conflict):
        await reports.resolve(MOD, report_id, "ban", "changed my mind", None)

    assert reported.wallet is not None
    assert (await user_doc(mongo_client, reported.wallet))["moderation"] is None
    assert await AuditLog.count() == 1
    stored = await PlayerReport.get(report_id)
    assert stored is not None and stored.resolution is not None
    assert stored.resolution.action == "dismiss"


@pytest.mark.parametrize(
    ("action", "reason", "duration", "error"),
    [("ban", "spam", "forever", InvalidMessage), ("kick", "spam", None, InvalidMessage),
     ("mute", "x", "1h", InvalidMessage)],
)  # fmt: skip
async def test_a_bad_resolution_leaves_the_report_open(
    reports: ReportService, action: str, reason: str, duration: str | None,
    error: type[Exception],
) -> None:  # fmt: skip
    reporter, reported = await players()
    report_id = await reports.report(reporter, reported, "town", "chat", None)

    with pytest.raises(error):
        await reports.resolve(MOD, report_id, action, reason, duration)

    stored = await PlayerReport.get(report_id)
    assert stored is not None and stored.status == "open"
    assert await AuditLog.count() == 0 and await ModerationAction.count() == 0


async def test_a_report_about_staff_cannot_sanction_them(reports: ReportService) -> None:
    reporter, _ = await players()
    await User(wallet_address=MOD_WALLET, username="Mod").insert()
    report_id = await reports.report(
        reporter, Party(MOD_WALLET, "Mod", "p9"), "town", "other", None
    )

    with pytest.raises(Forbidden):
        await reports.resolve(MOD, report_id, "ban", "abuse of power", None)

    stored = await PlayerReport.get(report_id)
    assert stored is not None and stored.status == "open"


async def test_a_guest_can_be_reported_but_not_sanctioned(reports: ReportService) -> None:
    reporter, _ = await players()
    report_id = await reports.report(reporter, Party(None, "Guest0042", "p7"), "town", "chat", "")

    with pytest.raises(InvalidMessage):
        await reports.resolve(MOD, report_id, "mute", "spam", "1h")
    resolved = await reports.resolve(MOD, report_id, "dismiss", "guests vanish anyway")

    assert resolved["reported"] == {
        "walletAddress": None,
        "username": "Guest0042",
        "playerId": "p7",
    }
    assert resolved["text"] is None


@pytest.mark.parametrize("report_id", ["nope", "6b07aaaaaaaaaaaaaaaaaaaa"])
async def test_an_unknown_report_is_not_found(reports: ReportService, report_id: str) -> None:
    with pytest.raises(NotFound):
        await reports.resolve(MOD, report_id, "dismiss", "whatever")


async def test_the_queue_pages_newest_first_by_status(reports: ReportService) -> None:
    reporter, reported = await players()
    ids = [await reports.report(reporter, reported, "town", "chat", f"#{n}") for n in range(3)]
    await reports.resolve(MOD, ids[1], "dismiss", "fine")

    first = await reports.page("open", limit=1)
    second = await reports.page("open", limit=1, before=first.next)
    done = await reports.page("resolved")

    assert [r["id"] for r in first.reports] == [ids[2]]
    assert [r["id"] for r in second.reports] == [ids[0]] and second.next is None
    assert [r["id"] for r in done.reports] == [ids[1]]
    with pytest.raises(InvalidMessage):
        await reports.page("all")
