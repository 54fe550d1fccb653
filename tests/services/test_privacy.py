"""Players' data (docs/privacy.md): the export holds every kind of record a seeded player
has, collection by collection from the database's own list; an erasure leaves the wallet
nowhere but as its tombstone and the ledger clean; an erasure stopped half-way finishes
when run again; a player's own request waits the grace and can be cancelled."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from clubpengu.config import Settings
from clubpengu.models import (
    AuditLog,
    BuddyRequest,
    Challenge,
    ConnectionLog,
    Friendship,
    Ignore,
    Match,
    MatchLogEntry,
    MatchPlayer,
    MatchStatus,
    MigrationClaim,
    ModerationAction,
    PlayerReport,
    PromoCode,
    PromoRedemption,
    Puffle,
    User,
    WagerDay,
)
from clubpengu.models.migration_claim import ClaimStatus
from clubpengu.services.audit import Staff
from clubpengu.services.data_registry import BY_COLLECTION, POLICIES, TOMBSTONE_PREFIX
from clubpengu.services.erasure import Step
from clubpengu.services.report import default_range, run_report
from tests.conftest import TEST_DB
from tests.support import (
    MovableClock,
    RunningServer,
    Wallet,
    connect,
    enter,
    grant,
    http_sign_in,
    http_token,
    run_server,
    sign_in,
)
from tests.waiting import eventually

Mongo = AsyncMongoClient[dict[str, Any]]
ADMIN = Wallet()


@pytest.fixture
def privacy_settings(settings: Settings) -> Settings:
    return settings.with_overrides(admin_wallets=frozenset({ADMIN.address}))


@pytest.fixture
async def served(privacy_settings: Settings, mongo_client: Mongo) -> AsyncIterator[RunningServer]:
    async with run_server(privacy_settings, mongo_client) as server:
        yield server


async def seed(server: RunningServer, wallet: Wallet, other: Wallet) -> None:
    """A player with a record in every collection: their sign-in, join and chat go through
    the server (user, session, connection history, events, chat lines); the rest is
    written as the services write it."""
    client, _, joined = await enter(server.ws_url, wallet, room="town")
    await client.request({"type": "chat", "text": "hello there"})
    await client.close()
    async with connect(server.ws_url) as other_client:
        await sign_in(other_client, other)
    await grant(server, wallet, 120)
    await grant(server, other, 50)
    now = datetime.now(UTC)
    user = await User.find_one(User.wallet_address == wallet.address)
    assert user is not None
    name = user.username
    await Puffle(owner_wallet=wallet.address, name="Puff", color="blue").insert()
    await Challenge(
        challenger_wallet=wallet.address, target_wallet=other.address, game="tictactoe",
        expires_at=now + timedelta(minutes=5),
    ).insert()  # fmt: skip
    await Match(
        game="tictactoe",
        players=[MatchPlayer(wallet_address=wallet.address, username=name),
                 MatchPlayer(wallet_address=other.address, username="Other0001")],
        wallets=[wallet.address, other.address], status=MatchStatus.COMPLETED,
        log=[MatchLogEntry(seq=1, seat=0, wallet_address=wallet.address, move={"cell": 4}, at=now)],
        winner_wallet=wallet.address, seed=1234,
    ).insert()  # fmt: skip
    await WagerDay(id=f"won:{wallet.address}:2026-01-01", coins=10, expires_at=now).insert()
    await AuditLog(
        action="coins.adjust", actor=ADMIN.address, target=wallet.address,
        wallet_address=wallet.address, reason="support", source="staff_api",
    ).insert()  # fmt: skip
    await ModerationAction(
        wallet_address=wallet.address, action="mute", actor=ADMIN.address, reason="spam"
    ).insert()
    await PlayerReport(
        reporter_wallet=wallet.address, reporter_name=name, target_wallet=other.address,
        target_name="Other0001", target_player_id="p1", room="town", category="chat",
        context=[{"walletAddress": wallet.address, "username": name, "text": "hi"}],
    ).insert()  # fmt: skip
    await PromoCode(code="SEEDED", max_redemptions=5, created_by="admin:x").insert()
    await PromoRedemption(code="SEEDED", wallet_address=wallet.address).insert()
    await MigrationClaim(
        wallet_address=wallet.address, status=ClaimStatus.APPLIED, submitted="{}", plan={}
    ).insert()
    low, high = sorted((wallet.address, other.address))
    await Friendship(low=low, high=high).insert()
    await BuddyRequest(
        from_wallet=other.address, to_wallet=wallet.address, expires_at=now + timedelta(days=1)
    ).insert()
    await Ignore(owner=wallet.address, wallet=other.address).insert()
    del joined


def mentions(doc: dict[str, Any], text: str) -> bool:
    return text in json.dumps(doc, default=str)


async def collections(mongo: Mongo) -> list[str]:
    names = await mongo[TEST_DB].list_collection_names()
    return sorted(name for name in names if not name.startswith("system."))


async def export_of(server: RunningServer, wallet: str) -> dict[str, Any]:
    token = await http_token(server.url, ADMIN)
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.get(
            f"{server.url}/admin/users/{wallet}/export",
            headers={"authorization": f"Bearer {token}"},
        )
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


async def test_every_collection_of_the_database_has_a_policy(
    served: RunningServer, mongo_client: Mongo
) -> None:
    await seed(served, Wallet(), Wallet())

    missing = [name for name in await collections(mongo_client) if name not in BY_COLLECTION]

    assert missing == [], f"collections without an entry in services/data_registry.py: {missing}"


async def test_the_export_holds_every_kind_of_record_the_player_has(
    served: RunningServer, mongo_client: Mongo
) -> None:
    wallet, other = Wallet(), Wallet()
    await seed(served, wallet, other)
    await served.node.services.events.flush()
    await served.node.services.chat_log.flush()
    await served.node.services.connection_log.flush()

    document = await export_of(served, wallet.address)

    assert document["schema"] == "clubpengu.data-export" and document["version"] == 1
    assert document["walletAddress"] == wallet.address
    db = mongo_client[TEST_DB]
    for name in await collections(mongo_client):
        held = [doc async for doc in db[name].find() if mentions(doc, wallet.address)]
        exported = document["collections"].get(name, [])
        assert name in document["collections"] or not held, f"{name}: not in the export"
        assert len(exported) == len(held), f"{name}: {len(held)} held, {len(exported)} exported"
    assert all("seed" not in match for match in document["collections"]["matches"])
    assert not any(mentions(doc, other.address) for doc in document["collections"]["users"])


async def test_an_erasure_leaves_only_the_tombstone_and_a_clean_ledger(
    served: RunningServer, mongo_client: Mongo
) -> None:
    wallet, other = Wallet(), Wallet()
    await seed(served, wallet, other)
    live, _, _ = await enter(served.ws_url, wallet, room="town")
    token = await http_token(served.url, ADMIN)

    async with httpx.AsyncClient(timeout=60) as http:
        response = await http.post(
            f"{served.url}/admin/users/{wallet.address}/erase",
            json={"reason": "GDPR request 1"},
            headers={"authorization": f"Bearer {token}"},
        )
    assert response.status_code == 200, response.text
    job = response.json()["job"]
    await eventually(lambda: live.ws.close_code is not None, "the live connection closed")
    await served.node.services.events.flush()
    await served.node.services.connection_log.flush()

    db = mongo_client[TEST_DB]
    traces = {
        name: n
        for name in await collections(mongo_client)
        if (n := len([d async for d in db[name].find() if mentions(d, wallet.address)]))
    }
    tombstone = job["tombstone"]
    kept = {
        name for name in await collections(mongo_client)
        if [d async for d in db[name].find() if mentions(d, tombstone)]
    }  # fmt: skip
    report = await served.node.services.economy.verify_ledger()

    assert job["status"] == "done" and tombstone.startswith(TOMBSTONE_PREFIX)
    assert live.ws.close_code == 4003
    assert traces == {}
    assert {"transactions", "matches", "audit_logs", "erasure_jobs"} <= kept
    assert await db["users"].count_documents({}) == 2  # the admin and the other player
    assert report.ok, report.mismatches
    erasures = [d async for d in db["transactions"].find({"type": "erasure"})]
    assert [(e["walletAddress"], e["amount"]) for e in erasures] == [(tombstone, -120)]
    audit = await db["audit_logs"].find_one({"action": "data.erase"})
    assert audit is not None and audit["target"] == tombstone
    # The economy report still adds up: what it shows created less destroyed is every
    # balance left, the erased coins among the destroyed.
    start, end = default_range()
    flow = {row["type"]: row for row in (await run_report(db, start, end))["coin_flow"]}
    balances = sum([u.get("coins", 0) async for u in db["users"].find()])
    assert flow["erasure"]["destroyed"] == 120
    assert sum(row["created"] - row["destroyed"] for row in flow.values()) == balances
    # The wallet may come back, as a new player.
    async with connect(served.ws_url) as client:
        again = await sign_in(client, wallet)
    assert again["isNewUser"] is True and again["user"]["coins"] == 0


async def test_an_erasure_stopped_half_way_finishes_when_run_again(
    served: RunningServer, mongo_client: Mongo, monkeypatch: pytest.MonkeyPatch
) -> None:
    wallet, other = Wallet(), Wallet()
    await seed(served, wallet, other)
    erasure = served.node.services.erasure
    steps = erasure.steps()
    stop_after = 5

    async def crash(job: Any) -> int:
        raise RuntimeError("the node died here")

    broken = [*steps[:stop_after], Step(steps[stop_after].name, crash), *steps[stop_after + 1 :]]
    monkeypatch.setattr(erasure, "steps", lambda: broken)
    with pytest.raises(RuntimeError):
        await erasure.erase_now(Staff(ADMIN.address, "admin"), wallet.address, "GDPR request 2")
    job = await erasure.pending(wallet.address)
    assert job is not None and job.status == "running"
    assert job.steps_done == [step.name for step in steps[:stop_after]]

    monkeypatch.undo()
    finished = await erasure.erase_now(Staff(ADMIN.address, "admin"), wallet.address, "again")

    db = mongo_client[TEST_DB]
    assert finished.status == "done"
    assert finished.steps_done == [step.name for step in steps]
    for name in await collections(mongo_client):
        assert not [d async for d in db[name].find() if mentions(d, wallet.address)], name
    assert (await served.node.services.economy.verify_ledger()).ok


async def test_a_players_request_waits_the_grace_and_can_be_cancelled(
    privacy_settings: Settings, mongo_client: Mongo
) -> None:
    clock = MovableClock()
    wallet = Wallet()
    async with run_server(privacy_settings, mongo_client, clock=clock) as server:
        client, _, _ = await enter(server.ws_url, wallet, room="town")
        pending = await client.call({"type": "data_erasure_request"})
        again = await client.call({"type": "data_erasure_request"})
        await client.close()
        async with connect(server.ws_url) as second:
            signed = await sign_in(second, wallet)
            cancelled = await second.call({"type": "data_erasure_cancel"})
            nothing = await second.call({"type": "data_erasure_cancel"})
        clock.advance(days=8)
        ran = await server.node.services.erasure.run_due()
        user = await User.find_one(User.wallet_address == wallet.address)

    due = datetime.fromisoformat(pending["dueAt"].replace("Z", "+00:00"))
    assert pending["type"] == "data_erasure_pending" and again == pending
    assert abs(due - (clock.now - timedelta(days=8) + timedelta(days=7))) < timedelta(seconds=5)
    assert signed["erasureDueAt"] == pending["dueAt"]
    assert cancelled == {"type": "data_erasure_cancelled"}
    assert nothing["type"] == "error" and nothing["code"] == "not_found"
    assert ran == 0 and user is not None and user.erasure_due_at is None


async def test_a_players_request_is_carried_out_once_due(
    privacy_settings: Settings, mongo_client: Mongo
) -> None:
    clock = MovableClock()
    wallet = Wallet()
    async with run_server(privacy_settings, mongo_client, clock=clock) as server:
        client, _, _ = await enter(server.ws_url, wallet, room="town")
        await client.call({"type": "data_erasure_request"})
        await client.close()
        assert await server.node.services.erasure.run_due() == 0  # not yet due
        clock.advance(days=7, seconds=1)
        ran = await server.node.services.erasure.run_due()

    assert ran == 1
    assert await User.find_one(User.wallet_address == wallet.address) is None


async def test_the_player_export_streams_the_document_in_chunks(served: RunningServer) -> None:
    wallet = Wallet()
    client, _, _ = await enter(served.ws_url, wallet, room="town")
    started = await client.call({"type": "data_export"})
    parts: list[str] = []
    while True:
        frame = await client.recv_type("data_export_chunk") if not parts else await client.recv()
        if frame["type"] == "data_export_end":
            break
        if frame["type"] == "data_export_chunk":
            assert frame["seq"] == len(parts)
            parts.append(frame["data"])
    await client.close()
    document = json.loads("".join(parts))

    assert started["type"] == "data_export_started"
    assert frame["chunks"] == len(parts)
    assert document["walletAddress"] == wallet.address
    assert document["collections"]["users"][0]["walletAddress"] == wallet.address


async def test_player_exports_are_limited_per_day(
    privacy_settings: Settings, mongo_client: Mongo
) -> None:
    limited = privacy_settings.with_overrides(data_exports_per_day=1)
    async with run_server(limited, mongo_client) as server:
        client, _, _ = await enter(server.ws_url, Wallet(), room="town")
        first = await client.call({"type": "data_export"})
        second = await client.call({"type": "data_export"})
        await client.close()

    assert first["type"] == "data_export_started"
    assert second["type"] == "error" and second["code"] == "rate_limited"


async def test_only_admins_erase_and_a_bad_wallet_changes_nothing(served: RunningServer) -> None:
    player = Wallet()
    token = await http_token(served.url, player)
    async with httpx.AsyncClient(timeout=30) as http:
        refused = await http.post(
            f"{served.url}/admin/users/{player.address}/erase",
            json={"reason": "not mine to erase"},
            headers={"authorization": f"Bearer {token}"},
        )
        admin = await http_token(served.url, ADMIN, http)
        bad = await http.post(
            f"{served.url}/admin/users/not-a-wallet/erase",
            json={"reason": "typo"},
            headers={"authorization": f"Bearer {admin}"},
        )

    assert refused.status_code == 403
    assert bad.status_code == 400
    assert await User.find_one(User.wallet_address == player.address) is not None


async def test_staff_see_a_players_devices_with_their_reconnects(served: RunningServer) -> None:
    wallet = Wallet()
    for _ in range(2):
        async with connect(served.ws_url) as client:
            await sign_in(client, wallet, clientDeviceId="phone-1")
    await served.node.services.connection_log.flush()
    token = await http_token(served.url, ADMIN)
    headers = {"authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(timeout=30) as http:

        async def both_closed() -> dict[str, Any] | None:
            await served.node.services.connection_log.flush()
            url = f"{served.url}/admin/users/{wallet.address}/connections"
            page: dict[str, Any] = (await http.get(url, headers=headers)).json()
            done = [c for c in page["connections"] if c["disconnectedAt"]]
            return page if len(done) == 2 else None

        page = await eventually(both_closed, "both connections closed in the history")
        devices = (
            await http.get(f"{served.url}/admin/users/{wallet.address}/devices", headers=headers)
        ).json()["devices"]

    assert [(d["connections"], d["reconnects"]) for d in devices] == [(2, 1)]
    assert devices[0]["deviceHash"] and "phone-1" not in devices[0]["deviceHash"]
    assert all(c["userAgent"] is None or len(c["userAgent"]) <= 48 for c in page["connections"])


async def test_a_restarted_node_closes_the_history_entries_it_left_open(
    privacy_settings: Settings, mongo_client: Mongo
) -> None:
    """What a node killed outright left open (no close time) is marked closed by its next
    start, and only that node's: another node's open entries are its own business."""
    now = datetime.now(UTC)
    mine, other_node = privacy_settings.node_id, f"{privacy_settings.node_id}-other"
    left = ConnectionLog(
        node_id=mine, connection_id="c1", connected_at=now, expires_at=now + timedelta(days=1)
    )
    elsewhere = ConnectionLog(
        node_id=other_node, connection_id="c1", connected_at=now, expires_at=now
    )
    await left.insert()
    await elsewhere.insert()

    async with run_server(privacy_settings, mongo_client):
        closed = await ConnectionLog.get(left.id)
        untouched = await ConnectionLog.get(elsewhere.id)

    assert closed is not None and closed.closed_by == "restart"
    assert closed.disconnected_at is not None and closed.disconnected_at >= now
    assert closed.expires_at > now + timedelta(days=1)
    assert untouched is not None and untouched.disconnected_at is None
    assert untouched.closed_by is None


def test_the_retention_table_of_the_docs_is_the_registry() -> None:
    """docs/privacy.md's retention table, row by row, is what the registry says: the same
    collections in the same order, the same erasure, retention, TTL and reason."""
    text = (Path(__file__).parents[2] / "docs" / "privacy.md").read_text()
    table = text.split("## Retention", 1)[1]
    rows = [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in table.splitlines()
        if line.startswith("| `")
    ]
    documented = [(name.strip("`"), erase, kept, ttl, why) for name, erase, kept, ttl, why in rows]
    registry = [
        (p.collection, p.erase.value, p.retention, "yes" if p.ttl else "no", p.why)
        for p in POLICIES
    ]

    assert documented == registry


async def ws_sign_in_reply(url: str, wallet: Wallet) -> dict[str, Any]:
    async with connect(url) as client:
        challenge = await client.request({"type": "auth_request"})
        return await client.request(
            {"type": "auth_verify", "walletAddress": wallet.address,
             "signature": wallet.sign(challenge["nonce"])}
        )  # fmt: skip


@pytest.mark.parametrize("held_before", ["revoke", "recheck"])
async def test_no_sign_in_while_the_wallets_erasure_runs(
    served: RunningServer, mongo_client: Mongo, monkeypatch: pytest.MonkeyPatch,
    held_before: str,
) -> None:  # fmt: skip
    """Held before its first step (the player's data all there, the token still live) or
    before its last (the user already emptied): a sign-in over the WebSocket or HTTP and a
    join with a token are refused with `erasure_in_progress`, and write nothing of the
    wallet; once the job is done the wallet signs in as a new player."""
    wallet = Wallet()
    client, _, _ = await enter(served.ws_url, wallet, room="town")
    token = (await http_sign_in(served.url, wallet)).token
    await client.close()
    erasure = served.node.services.erasure
    steps = erasure.steps()
    at = next(i for i, step in enumerate(steps) if step.name == held_before)
    reached, release = asyncio.Event(), asyncio.Event()

    async def held(job: Any) -> int:
        reached.set()
        await release.wait()
        return await steps[at].run(job)

    monkeypatch.setattr(
        erasure, "steps", lambda: [*steps[:at], Step(held_before, held), *steps[at + 1 :]]
    )
    running = asyncio.create_task(
        erasure.erase_now(Staff(ADMIN.address, "admin"), wallet.address, "GDPR request 3")
    )
    await asyncio.wait_for(reached.wait(), 30)
    try:
        over_ws = await ws_sign_in_reply(served.ws_url, wallet)
        over_http = (await http_sign_in(served.url, wallet)).response
        async with connect(served.ws_url) as joining:
            join = await joining.request({"type": "join", "token": token, "room": "town"})
        await served.node.services.events.flush()
        failed = await mongo_client[TEST_DB]["events"].find({"kind": "sign_in_failed"}).to_list()
    finally:
        release.set()
        job = await running
    async with connect(served.ws_url) as after:
        again = await sign_in(after, wallet)

    assert over_ws["type"] == "auth_failure" and over_ws["error"] == "erasure_in_progress"
    assert over_http.status_code == 409
    assert over_http.json() == {"type": "auth_failure", "error": "erasure_in_progress"}
    assert join["type"] == "error" and join["code"] == "erasure_in_progress", join
    assert [e["walletAddress"] for e in failed if e["data"]["code"] == "erasure_in_progress"]
    assert all(e["walletAddress"] is None for e in failed)
    assert job.status == "done"
    assert again["isNewUser"] is True


async def test_a_late_write_after_the_erasure_brings_nothing_of_the_wallet_back(
    served: RunningServer, mongo_client: Mongo
) -> None:
    """What a node may still write of the wallet after its erasure ran — a leave's event
    and presence, a batched chat line, stats counters, the connection's close — lands
    nowhere: the inserts are dropped by the node that learned of the erasure, the
    updates find no user (none of them upserts)."""
    wallet = Wallet()
    client, _, _ = await enter(served.ws_url, wallet, room="town")
    await client.close()
    player_id = "p-late"
    services = served.node.services
    await services.connection_log.flush()
    entries = await mongo_client[TEST_DB]["connection_logs"].find().to_list()
    job = await services.erasure.erase_now(
        Staff(ADMIN.address, "admin"), wallet.address, "GDPR request 4"
    )

    services.events.record("leave", wallet.address, room="town")
    services.chat_log.record("town", wallet.address, player_id, "Late", "late", "late")
    await services.presence.disconnected(wallet.address, player_id)
    services.stats.queue(wallet.address, "chatMessages")
    for entry in entries:
        services.connection_log.closed(entry["_id"], 1000, ["town"])
    await services.events.flush()
    await services.chat_log.flush()
    await services.stats.flush()
    await services.connection_log.flush()

    assert job.status == "done"
    db = mongo_client[TEST_DB]
    for name in await collections(mongo_client):
        assert not [d async for d in db[name].find() if mentions(d, wallet.address)], name


async def test_every_collection_the_registry_says_expires_has_a_ttl_index_and_no_other(
    mongo_client: Mongo,
) -> None:
    """The retention table's "TTL index" column is what the database holds: a TTL index
    where it says yes (on `expiresAt`, but for the notices that expire an hour after their
    `at`), none where it says no."""
    db = mongo_client[TEST_DB]
    present = set(await db.list_collection_names())
    expiring: dict[str, list[Any]] = {}
    for policy in POLICIES:
        if policy.collection not in present:
            continue
        info = await db[policy.collection].index_information()
        expiring[policy.collection] = [
            index["key"] for index in info.values() if "expireAfterSeconds" in index
        ]

    said = {p.collection for p in POLICIES if p.ttl}
    assert said <= set(expiring), f"never created: {said - set(expiring)}"
    for name, keys in expiring.items():
        field = "at" if name == "coin_notices" else "expiresAt"
        assert keys == ([[(field, 1)]] if name in said else []), name


async def test_erasing_an_erased_wallet_again_changes_nothing(
    served: RunningServer, mongo_client: Mongo
) -> None:
    wallet, other = Wallet(), Wallet()
    await seed(served, wallet, other)
    erasure = served.node.services.erasure
    first = await erasure.erase_now(Staff(ADMIN.address, "admin"), wallet.address, "GDPR 5")
    db = mongo_client[TEST_DB]
    before = {name: await db[name].count_documents({}) for name in await collections(mongo_client)}

    again = await erasure.erase_now(Staff(ADMIN.address, "admin"), wallet.address, "GDPR 5")

    after = {name: await db[name].count_documents({}) for name in await collections(mongo_client)}
    changed = {name for name in after if after[name] != before.get(name)}
    assert again.status == "done" and again.tombstone == first.tombstone
    assert changed <= {"erasure_jobs", "audit_logs"}, changed
    assert await db["transactions"].count_documents({"type": "erasure"}) == 1
    for name in await collections(mongo_client):
        assert not [d async for d in db[name].find() if mentions(d, wallet.address)], name
    assert (await served.node.services.economy.verify_ledger()).ok
