"""The audit trail against the real database: written with the change it describes (or not
at all), read back newest first through its indexes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from bson import ObjectId

from clubpengu.errors import InvalidMessage, NotFound
from clubpengu.models import AuditLog
from clubpengu.services.audit import AuditTrail, StaffAction, page_query
from clubpengu.services.economy import EconomyService
from clubpengu.services.transaction_runner import Session
from tests.conftest import TEST_DB
from tests.services.conftest import Client
from tests.support import Wallet

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def audit(mongo_client: Client) -> AuditTrail:
    return AuditTrail(mongo_client, TEST_DB, clock=lambda: NOW)


async def test_an_entry_records_who_in_which_role_did_what_to_whom_and_why(
    audit: AuditTrail,
) -> None:
    admin, player = Wallet().address, Wallet().address

    await audit.record(
        admin, "admin", StaffAction.MUTE, player, "spam in the plaza",
        before={"mute": None}, after={"mute": {"until": "2026-06-02T12:00:00Z"}}, duration="24h",
    )  # fmt: skip

    [entry] = await AuditLog.find_all().to_list()
    assert (entry.actor, entry.role, entry.action) == (admin, "admin", "mute")
    assert entry.target == player and entry.wallet_address == player
    assert entry.reason == "spam in the plaza"
    assert entry.before == {"mute": None}
    assert entry.after == {"mute": {"until": "2026-06-02T12:00:00Z"}}
    assert entry.details == {"duration": "24h"}
    assert entry.source == "staff_api" and entry.at == NOW


async def test_a_target_that_is_not_a_wallet_names_no_wallet(audit: AuditTrail) -> None:
    await audit.record("admin-wallet", "admin", StaffAction.PROMO_CREATE, "promo:SUMMER", "launch")

    [entry] = await AuditLog.find_all().to_list()
    assert entry.target == "promo:SUMMER" and entry.wallet_address is None


async def test_an_entry_written_in_a_transaction_that_aborts_is_not_kept(
    audit: AuditTrail, economy: EconomyService
) -> None:
    async def change(session: Session) -> None:
        await audit.record("a", "admin", StaffAction.BAN, "t", "reason", session=session)
        raise NotFound("the change it describes failed")

    with pytest.raises(NotFound):
        await economy.run_transaction(change)

    assert await AuditLog.count() == 0


async def test_an_entry_written_in_a_transaction_commits_with_it(
    audit: AuditTrail, economy: EconomyService
) -> None:
    async def change(session: Session) -> None:
        await audit.record("a", "admin", StaffAction.BAN, "t", "reason", session=session)

    await economy.run_transaction(change)

    assert await AuditLog.count() == 1


async def test_pages_run_newest_first_and_filter_by_actor_target_and_action(
    audit: AuditTrail,
) -> None:
    for n in range(5):
        await audit.record(f"staff{n % 2}", "admin", StaffAction.MUTE, f"w{n}", "r")
    await audit.record("staff0", "moderator", StaffAction.BAN, "w0", "r")

    first = await audit.page(limit=4)
    second = await audit.page(limit=4, before=first.next)
    by_actor = await audit.page(actor="staff1")
    by_target = await audit.page(target="w0")
    by_action = await audit.page(action="ban")

    assert [e["target"] for e in first.entries] == ["w0", "w4", "w3", "w2"]
    assert [e["target"] for e in second.entries] == ["w1", "w0"] and second.next is None
    assert [e["target"] for e in by_actor.entries] == ["w3", "w1"]
    assert [e["action"] for e in by_target.entries] == ["ban", "mute"]
    assert [(e["actor"], e["role"]) for e in by_action.entries] == [("staff0", "moderator")]


@pytest.mark.parametrize(
    ("filters", "index"),
    [({"actor": "x"}, "by_actor_page"), ({"target": "x"}, "by_target_page"),
     ({"action": "x"}, "by_action_page"), ({"action": "x", "actor": "y"}, "by_actor_page")],
)  # fmt: skip
async def test_each_filter_of_the_page_walks_its_own_index(
    mongo_client: Client, filters: dict[str, Any], index: str
) -> None:
    collection = mongo_client[TEST_DB]["audit_logs"]
    query, hint = page_query(**filters, before=str(ObjectId()))

    plan = await collection.find(query).sort("_id", -1).limit(51).hint(hint).explain()

    # MongoDB walks the index in order; SecantusDB then still sorts what it found (the
    # entries of that actor, target or action), but never scans the collection.
    text = str(plan["queryPlanner"]["winningPlan"])
    assert hint == index and "COLLSCAN" not in text and index in text


@pytest.mark.parametrize(
    "kwargs", [{"limit": 0}, {"limit": 201}, {"before": "not-a-cursor"}], ids=str
)
async def test_a_bad_page_request_is_refused(audit: AuditTrail, kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidMessage):
        await audit.page(**kwargs)


async def test_an_entry_needs_an_action_of_at_most_64_characters(audit: AuditTrail) -> None:
    with pytest.raises(InvalidMessage):
        await audit.record("a", "admin", "x" * 65, "t", "r")

    assert await AuditLog.count() == 0
