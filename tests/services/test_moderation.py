"""Bans, mutes and revocations against the real database: the User's sanction, the history
entry, the revoked sessions and the audit entry are written together or not at all."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo.errors import PyMongoError

from clubpengu.errors import Conflict, Forbidden, InvalidMessage, NotFound
from clubpengu.models import AuditLog, AuthSession, ModerationAction, User
from clubpengu.realtime.moderation import Mute
from clubpengu.services.audit import AuditTrail, Staff
from clubpengu.services.auth import AuthConfig, AuthService
from clubpengu.services.economy import EconomyService
from clubpengu.services.moderation import ModerationService
from tests.conftest import TEST_DB
from tests.services.conftest import Client, fail_point, user_doc
from tests.support import MovableClock, Wallet

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
MODERATOR = Wallet().address
ADMIN = Wallet().address
MOD = Staff(MODERATOR, "moderator")


class Nodes:
    """Records what the service asks every node to do once a change has committed."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    async def ban(self, wallet: str) -> None:
        self.calls.append(("ban", wallet))

    async def mute(self, wallet: str, mute: Mute | None) -> None:
        self.calls.append(("mute", (wallet, mute)))

    async def revoke(self, session_id: str, keep: str | None = None) -> None:
        self.calls.append(("revoke", session_id))


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(NOW)


@pytest.fixture
def nodes() -> Nodes:
    return Nodes()


@pytest.fixture
def moderation(
    mongo_client: Client, economy: EconomyService, clock: MovableClock, nodes: Nodes
) -> ModerationService:
    config = AuthConfig(
        domain="test", challenge_ttl=timedelta(minutes=5), jwt_secret="s" * 40,
        jwt_expiry=timedelta(days=7), admin_wallets=frozenset({ADMIN}),
        moderator_wallets=frozenset({MODERATOR}),
    )  # fmt: skip
    auth = AuthService(config, clock=clock)
    audit = AuditTrail(mongo_client, TEST_DB, clock=clock)
    return ModerationService(mongo_client, TEST_DB, economy, audit, auth, nodes, clock=clock)


async def player(sessions: int = 0) -> str:
    wallet = Wallet().address
    await User(wallet_address=wallet, username="Waddles").insert()
    for _ in range(sessions):
        await AuthSession(wallet_address=wallet, expires_at=NOW + timedelta(days=1)).insert()
    return wallet


async def test_a_ban_is_on_the_user_in_the_history_and_the_audit_and_ends_every_session(
    moderation: ModerationService, mongo_client: Client, nodes: Nodes
) -> None:
    wallet = await player(sessions=2)

    outcome = await moderation.ban(MOD, wallet, " cheating ", "7d", note="ticket 12")

    ban = (await user_doc(mongo_client, wallet))["moderation"]["ban"]
    assert ban["until"] == NOW + timedelta(days=7)
    assert (ban["reason"], ban["by"], ban["actionId"]) == ("cheating", MODERATOR, outcome.action_id)
    [action] = await ModerationAction.find_all().to_list()
    assert (action.action, action.actor, action.role, action.duration) == (
        "ban",
        MODERATOR,
        "moderator",
        "7d",
    )
    assert action.note == "ticket 12" and action.until == NOW + timedelta(days=7)
    assert await AuthSession.find(AuthSession.revoked_at == None).count() == 0  # noqa: E711
    [entry] = await AuditLog.find_all().to_list()
    assert (entry.action, entry.actor, entry.role, entry.target) == (
        "ban",
        MODERATOR,
        "moderator",
        wallet,
    )
    assert entry.before == {"ban": None}
    assert entry.after == {"ban": {"until": "2026-06-08T12:00:00.000Z", "reason": "cheating",
                                   "by": MODERATOR, "at": NOW.isoformat()}}  # fmt: skip
    assert outcome.public()["sessionsRevoked"] == 2
    assert nodes.calls == [("ban", wallet)]


async def test_a_ban_without_a_duration_lasts_until_it_is_lifted(
    moderation: ModerationService, mongo_client: Client, clock: MovableClock
) -> None:
    wallet = await player()

    await moderation.ban(MOD, wallet, "threats", None)
    clock.now += timedelta(days=365 * 20)
    outcome = await moderation.unban(Staff(ADMIN, "admin"), wallet, "appeal granted")

    assert outcome.action == "unban"
    assert (await user_doc(mongo_client, wallet))["moderation"]["ban"] is None
    actions = [a.action for a in await ModerationAction.find_all().sort("at").to_list()]
    assert actions == ["ban", "unban"]
    unban = await AuditLog.find_one(AuditLog.action == "unban")
    assert unban is not None and unban.before is not None and unban.before["ban"]["until"] is None


async def test_a_mute_is_pushed_to_the_nodes_and_an_unmute_lifts_it(
    moderation: ModerationService, mongo_client: Client, nodes: Nodes
) -> None:
    wallet = await player(sessions=1)

    await moderation.mute(MOD, wallet, "spam in the plaza", "24h")
    await moderation.unmute(MOD, wallet, "served")

    until = NOW + timedelta(hours=24)
    assert nodes.calls == [
        ("mute", (wallet, Mute(until.timestamp(), "2026-06-02T12:00:00.000Z"))),
        ("mute", (wallet, None)),
    ]
    assert (await user_doc(mongo_client, wallet))["moderation"]["mute"] is None
    assert await AuthSession.find(AuthSession.revoked_at == None).count() == 1  # noqa: E711
    assert [e.action for e in await AuditLog.find_all().sort("at").to_list()] == ["mute", "unmute"]


@pytest.mark.parametrize("kind", ["unban", "unmute"])
async def test_lifting_what_is_not_in_force_is_a_conflict_that_changes_nothing(
    moderation: ModerationService, clock: MovableClock, kind: str
) -> None:
    wallet = await player()
    await moderation.ban(MOD, wallet, "spam", "1h")
    await moderation.mute(MOD, wallet, "spam", "1h")
    clock.now += timedelta(hours=2)  # both have expired by themselves
    counts = (await ModerationAction.count(), await AuditLog.count())

    with pytest.raises(Conflict):
        await getattr(moderation, kind)(MOD, wallet, "nothing to lift")

    assert (await ModerationAction.count(), await AuditLog.count()) == counts


@pytest.mark.parametrize(
    ("reason", "duration", "note"),
    [("ok", "24h", None), ("spam", "30s", None), ("spam", "forever", None),
     ("spam", "24h", "n" * 1001)],
)  # fmt: skip
async def test_bad_input_is_refused_and_changes_nothing(
    moderation: ModerationService, mongo_client: Client, reason: str, duration: str,
    note: str | None,
) -> None:  # fmt: skip
    wallet = await player(sessions=1)

    with pytest.raises(InvalidMessage):
        await moderation.ban(MOD, wallet, reason, duration, note)

    assert (await user_doc(mongo_client, wallet))["moderation"] is None
    assert await ModerationAction.count() == 0 and await AuditLog.count() == 0
    assert await AuthSession.find(AuthSession.revoked_at == None).count() == 1  # noqa: E711


async def test_an_unknown_wallet_is_not_found(moderation: ModerationService) -> None:
    with pytest.raises(NotFound):
        await moderation.mute(MOD, Wallet().address, "spam", "1h")

    assert await ModerationAction.count() == 0 and await AuditLog.count() == 0


@pytest.mark.parametrize("target", [ADMIN, MODERATOR], ids=["admin", "moderator"])
async def test_staff_cannot_be_banned_or_muted(moderation: ModerationService, target: str) -> None:
    await User(wallet_address=target, username="Staff").insert()

    with pytest.raises(Forbidden):
        await moderation.ban(Staff(ADMIN, "admin"), target, "power grab", None)

    assert await ModerationAction.count() == 0


async def test_a_ban_whose_last_write_fails_leaves_nothing_behind(
    moderation: ModerationService, mongo_client: Client, nodes: Nodes
) -> None:
    wallet = await player(sessions=1)

    # The User's update comes after the history entry: failing it must take that back too.
    with pytest.raises(PyMongoError):
        async with fail_point(mongo_client, {"times": 1}, failCommands=["update"], errorCode=2):
            await moderation.ban(MOD, wallet, "cheating", "7d")

    assert (await user_doc(mongo_client, wallet))["moderation"] is None
    assert await ModerationAction.count() == 0 and await AuditLog.count() == 0
    assert await AuthSession.find(AuthSession.revoked_at == None).count() == 1  # noqa: E711
    assert nodes.calls == []


async def test_the_history_is_newest_first(
    moderation: ModerationService, clock: MovableClock
) -> None:
    wallet = await player()
    await moderation.mute(MOD, wallet, "spam", "1h")
    clock.now += timedelta(minutes=5)
    await moderation.unmute(MOD, wallet, "mistake")
    clock.now += timedelta(minutes=5)
    await moderation.ban(MOD, wallet, "cheating", "24h")

    history = await moderation.history(wallet)

    assert [(h["action"], h["reason"]) for h in history] == [
        ("ban", "cheating"),
        ("unmute", "mistake"),
        ("mute", "spam"),
    ]
    assert history[0]["until"] == "2026-06-02T12:10:00.000Z" and history[0]["duration"] == "24h"


async def test_a_revocation_is_audited_and_closes_each_session_on_every_node(
    moderation: ModerationService, nodes: Nodes
) -> None:
    wallet = await player(sessions=2)

    revoked = await moderation.revoke_sessions(Staff(ADMIN, "admin"), wallet, "account sharing")

    assert revoked == 2 and [kind for kind, _ in nodes.calls] == ["revoke", "revoke"]
    [entry] = await AuditLog.find_all().to_list()
    assert (entry.action, entry.before, entry.after) == (
        "sessions.revoke",
        {"liveSessions": 2},
        {"liveSessions": 0},
    )
