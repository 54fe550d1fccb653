"""The review queue of held migration claims, end to end: a forged save held over the
WebSocket, listed for staff, approved once although approved twice (credited through the
ledger, audited, pushed, shown at the next sign-in), or rejected."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from clubpengu.config import Settings
from clubpengu.models import AuditLog, MigrationClaim, Puffle, Transaction, User
from tests.support import (
    Client,
    RunningServer,
    Wallet,
    connect,
    economy_defaults,
    enter,
    http_token,
    run_server,
    sign_in,
)
from tests.transport.test_migration_ws import FORGED

Mongo = AsyncMongoClient[dict[str, Any]]


@dataclass
class Review:
    server: RunningServer
    http: httpx.AsyncClient
    admin: Wallet
    tokens: dict[str, str]
    player: Wallet
    client: Client
    claim_id: str

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    async def decide(self, verdict: str, who: str = "admin", reason: str = "checked it") -> Any:
        return await self.http.post(
            f"{self.server.url}/admin/migrations/{self.claim_id}/{verdict}",
            json={"reason": reason},
            headers=self.auth(who),
        )


@pytest.fixture
async def review(settings: Settings, mongo_client: Mongo) -> AsyncIterator[Review]:
    """A node with the default economy, an admin and an analyst, and a player whose forged
    save is held."""
    admin, analyst, player = Wallet(), Wallet(), Wallet()
    roles = economy_defaults(settings).with_overrides(
        admin_wallets=frozenset({admin.address}), analyst_wallets=frozenset({analyst.address})
    )
    async with run_server(roles, mongo_client) as server, httpx.AsyncClient() as http:
        tokens = {
            "admin": await http_token(server.url, admin, http),
            "analyst": await http_token(server.url, analyst, http),
        }
        client, _, _ = await enter(server.ws_url, player)
        held = await client.call({"type": "migrate_data", "localData": FORGED})
        assert held["status"] == "pending_review", held
        yield Review(server, http, admin, tokens, player, client, held["claimId"])
        await client.close()


async def test_staff_see_held_claims_with_the_save_and_a_link_to_the_player(
    review: Review,
) -> None:
    url = review.server.url + "/admin/migrations"

    pending = await review.http.get(url, params={"status": "pending"}, headers=review.auth("admin"))
    applied = await review.http.get(url, params={"status": "applied"}, headers=review.auth("admin"))
    analyst = await review.http.get(url, headers=review.auth("analyst"))
    wrong = await review.http.get(url, params={"status": "maybe"}, headers=review.auth("admin"))

    assert pending.status_code == 200
    [claim] = pending.json()["claims"]
    assert claim["id"] == review.claim_id and claim["status"] == "pending"
    assert claim["walletAddress"] == review.player.address
    assert claim["player"] == f"/admin/users/{review.player.address}"
    assert claim["save"] == FORGED and claim["coins"] == 50_000 and len(claim["held"]) == 3
    assert applied.json() == {"claims": [], "next": None}
    assert analyst.status_code == 200 and len(analyst.json()["claims"]) == 1
    assert wrong.status_code == 400 and wrong.json()["code"] == "invalid_message"


async def test_an_approval_made_twice_credits_once_through_the_ledger_audited_and_pushed(
    review: Review,
) -> None:
    wallet = review.player.address

    first, second = await asyncio.gather(review.decide("approve"), review.decide("approve"))
    coins = await review.client.recv_type("coins")  # the ledger's push comes first
    reviewed = await review.client.recv_type("migration_reviewed")
    third = await review.decide("approve")
    async with connect(review.server.ws_url) as later:
        signed = await sign_in(later, review.player)

    assert {first.status_code, second.status_code, third.status_code} == {200}
    replays = sorted(r.json()["replayed"] for r in (first, second, third))
    assert replays == [False, True, True]
    assert (
        third.json()["claim"]["status"] == "approved"
        and third.json()["claim"]["credited"] == 50_000
    )
    assert reviewed == {"type": "migration_reviewed", "claimId": review.claim_id,
                        "status": "approved", "coins": 50_000, "reason": "checked it"}  # fmt: skip
    assert coins == {"type": "coins", "coins": 50_000, "delta": 50_000, "reason": "migration"}
    assert signed["user"]["migration"]["status"] == "approved"
    assert signed["user"]["coins"] == 50_000
    entries = await Transaction.find(Transaction.wallet_address == wallet).to_list()
    assert [(e.type, e.amount, e.idempotency_key, e.actor) for e in entries] == [
        ("migration", 50_000, f"migration:{wallet}", f"admin:{review.admin.address}")
    ]
    user = await User.find_one(User.wallet_address == wallet)
    assert user is not None and user.migrated_at is not None
    assert {"crown", "gold_medal", "party_hat"} <= set(user.unlocked_cosmetics)
    assert await Puffle.find(Puffle.owner_wallet == wallet).count() == 10  # PUFFLE_LIMIT
    claim = await MigrationClaim.find_one(MigrationClaim.wallet_address == wallet)
    assert claim is not None and claim.status == "approved" and claim.decided_role == "admin"
    [audit] = await AuditLog.find({"action": "migration.approve"}).to_list()
    assert audit.actor == review.admin.address and audit.wallet_address == wallet
    assert audit.role == "admin" and audit.reason == "checked it" and audit.target == wallet
    assert audit.before is not None and audit.before["status"] == "pending"
    assert audit.after == {"status": "approved", "credited": 50_000, "puffles": 10}
    assert (await review.server.node.services.economy.verify_ledger()).ok


async def test_a_rejection_credits_nothing_is_audited_pushed_and_final(review: Review) -> None:
    wallet = review.player.address

    rejected = await review.decide("reject", reason="a forged save")
    reviewed = await review.client.recv_type("migration_reviewed")
    again = await review.decide("reject", reason="a forged save")
    approve = await review.decide("approve")
    retry = await review.client.call({"type": "migrate_data", "localData": FORGED})

    assert rejected.status_code == 200 and rejected.json()["replayed"] is False
    assert rejected.json()["claim"]["status"] == "rejected"
    assert again.status_code == 200 and again.json()["replayed"] is True
    assert approve.status_code == 409 and approve.json()["code"] == "conflict"
    assert reviewed["status"] == "rejected" and reviewed["reason"] == "a forged save"
    assert retry["code"] == "conflict"
    assert await Transaction.find(Transaction.wallet_address == wallet).count() == 0
    user = await User.find_one(User.wallet_address == wallet)
    assert user is not None and user.coins == 0 and user.migration_claim is not None
    assert user.migration_claim.status == "rejected" and user.unlocked_cosmetics == []
    [audit] = await AuditLog.find({"action": "migration.reject"}).to_list()
    assert audit.reason == "a forged save" and audit.role == "admin"
    assert await AuditLog.find({"action": "migration.approve"}).count() == 0


async def test_only_admins_decide_and_an_unknown_claim_is_not_found(review: Review) -> None:
    analyst = await review.decide("approve", who="analyst")
    missing = await review.http.post(
        review.server.url + "/admin/migrations/674f00000000000000000000/approve",
        json={"reason": "checked it"}, headers=review.auth("admin"),
    )  # fmt: skip
    garbage = await review.http.post(
        review.server.url + "/admin/migrations/nope/reject",
        json={"reason": "checked it"}, headers=review.auth("admin"),
    )  # fmt: skip
    no_reason = await review.http.post(
        f"{review.server.url}/admin/migrations/{review.claim_id}/approve", json={},
        headers=review.auth("admin"),
    )  # fmt: skip

    assert analyst.status_code == 403
    assert missing.status_code == 404 and garbage.status_code == 404
    assert no_reason.status_code == 400 and no_reason.json()["code"] == "invalid_message"
    claim = await MigrationClaim.find_one(MigrationClaim.wallet_address == review.player.address)
    assert claim is not None and claim.status == "pending"
    assert await Transaction.count() == 0
