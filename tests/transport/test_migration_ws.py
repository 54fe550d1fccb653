"""In-game migration of a localStorage save, over the WebSocket against the real ledger, with
the economy's default settings (the daily bonus on, the review thresholds, the window)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from clubpengu.config import Settings
from clubpengu.models import AuditLog, MigrationClaim, Puffle, Transaction, User
from clubpengu.services.catalog import load_catalog
from clubpengu.services.migration_plan import MigrationPlanner
from tests.support import (
    Client,
    MovableClock,
    RunningServer,
    Wallet,
    connect,
    economy_defaults,
    enter,
    run_server,
    sign_in,
)

SAVE: dict[str, Any] = {
    "penguin_name": "Waddles",
    "clubpenguin_save": {"coins": 1200, "stamps": ["first_login", "party_2019"]},
    "penguin_customization": {"head": "party_hat", "color": "red"},
    "unlocked_cosmetics": ["party_hat", "red", "unicorn_horn"],
    "unlocked_mounts": ["none", "sled"],
    "puffles": [{"name": "Blinky", "color": "blue"}, {"name": "Bad", "color": "plaid"}],
    "favourite_food": "fish",
}
# Under every review threshold: 1,000 coins, items the shop sells, two puffles.
HONEST: dict[str, Any] = {
    "penguin_name": "Waddles",
    "clubpenguin_save": {"coins": 1000, "stamps": ["first_login"]},
    "penguin_customization": {"head": "party_hat", "color": "red"},
    "unlocked_cosmetics": ["party_hat", "red"],
    "unlocked_mounts": ["none", "sled"],
    "puffles": [{"name": "Blinky", "color": "blue"}],
}
# What a farm sends: far more coins, exclusives, ten puffles.
FORGED: dict[str, Any] = {
    "clubpenguin_save": {"coins": 10**9},
    "unlocked_cosmetics": ["crown", "gold_medal", "party_hat"],
    "unlocked_mounts": ["penguin_band_bus"],
    "puffles": [{"name": f"Pet {n}", "color": "blue"} for n in range(10)],
}
Mongo = AsyncMongoClient[dict[str, Any]]


def _planner(max_coins: int = 1000) -> MigrationPlanner:
    return MigrationPlanner.for_catalog(load_catalog(), max_coins=max_coins, max_puffles=2)


def test_a_save_is_split_into_accepted_and_dropped() -> None:
    plan = _planner().plan(SAVE)

    assert plan.username == "Waddles"
    assert plan.coins == 1000
    assert plan.stamps == ["first_login"]
    assert plan.cosmetics == ["party_hat", "red"]
    assert plan.mounts == ["none", "sled"]
    assert plan.customization == {"head": "party_hat", "color": "red"}
    assert plan.puffles == [{"name": "Blinky", "color": "blue"}]
    dropped = {d.field: d.reason for d in plan.dropped}
    assert dropped["favourite_food"] == "unknown key"
    assert dropped["clubpenguin_save.coins"] == "capped at 1000 (was 1200)"
    assert dropped["unlocked_cosmetics:unicorn_horn"] == "no such cosmetic"
    assert dropped["puffles[1]"] == "unknown puffle colour"
    assert dropped["clubpenguin_save.stamps:party_2019"] == "no such stamp"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"penguin_name": "x"}, "penguin_name"),
        ({"penguin_name": "1abc"}, "penguin_name"),
        ({"penguin_name": 5}, "penguin_name"),
        ({"clubpenguin_save": {"coins": -3}}, "clubpenguin_save.coins"),
        ({"clubpenguin_save": {"coins": True}}, "clubpenguin_save.coins"),
        ({"clubpenguin_save": {"coins": 1.5}}, "clubpenguin_save.coins"),
        ({"clubpenguin_save": []}, "clubpenguin_save"),
        ({"clubpenguin_save": {"stamps": "all"}}, "clubpenguin_save.stamps"),
        ({"unlocked_cosmetics": "party_hat"}, "unlocked_cosmetics"),
        ({"unlocked_mounts": ["party_hat"]}, "unlocked_mounts:party_hat"),
        ({"penguin_customization": {"head": "crown"}}, "penguin_customization.head"),
        ({"penguin_customization": {"feet": "party_hat"}}, "penguin_customization.feet"),
        ({"puffles": [{"name": "", "color": "red"}]}, "puffles[0]"),
        ({"puffles": "many"}, "puffles"),
    ],
)
def test_each_invalid_field_is_dropped_with_a_reason(data: dict[str, Any], field: str) -> None:
    plan = _planner().plan(data)

    assert field in {d.field for d in plan.dropped}
    assert plan.coins == 0 and plan.cosmetics == [] and plan.customization == {}


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
async def server(
    settings: Settings, mongo_client: Mongo, clock: MovableClock
) -> AsyncIterator[RunningServer]:
    """A node with the economy's default settings, on a clock the test moves."""
    async with run_server(economy_defaults(settings), mongo_client, clock=clock) as running:
        yield running


async def _user(wallet: Wallet) -> User:
    user = await User.find_one(User.wallet_address == wallet.address)
    assert user is not None
    return user


async def _nothing_migrated(wallet: Wallet) -> None:
    user = await _user(wallet)
    assert user.migrated_at is None and user.migration_claim is None
    assert await MigrationClaim.find(MigrationClaim.wallet_address == wallet.address).count() == 0
    assert (
        await Transaction.find({"walletAddress": wallet.address, "type": "migration"}).count() == 0
    )
    assert await Puffle.find(Puffle.owner_wallet == wallet.address).count() == 0


async def test_a_save_under_the_thresholds_is_applied_at_once_and_only_once(
    server: RunningServer,
) -> None:
    wallet = Wallet()
    client, signed, _ = await enter(server.ws_url, wallet)
    assert signed["isNewUser"] and signed["user"]["migration"] is None

    result = await client.call({"type": "migrate_data", "localData": HONEST})
    pushed = await client.recv_type("coins")
    again = await client.call({"type": "migrate_data", "localData": HONEST})
    await client.close()

    assert result["type"] == "migrate_result" and result["status"] == "applied"
    assert result["held"] == [] and result["coins"] == 1000 and result["accepted"]["coins"] == 1000
    assert pushed == {"type": "coins", "coins": 1000, "delta": 1000, "reason": "migration"}
    assert again["code"] == "conflict"
    user = await _user(wallet)
    assert (user.username, user.coins, user.migration_source) == ("Waddles", 1000, "localStorage")
    assert user.username_lower == "waddles" and result["renamed"] is None
    assert user.unlocked_mounts == ["none", "sled"] and user.customization["head"] == "party_hat"
    assert user.migration_claim is not None and user.migration_claim.status == "applied"
    claim = await MigrationClaim.find_one(MigrationClaim.wallet_address == wallet.address)
    assert claim is not None and str(claim.id) == result["claimId"]
    assert (claim.status, claim.coins, claim.credited, claim.held) == ("applied", 1000, 1000, [])
    entries = await Transaction.find(Transaction.wallet_address == wallet.address).to_list()
    assert [(e.type, e.amount, e.idempotency_key) for e in entries] == [
        ("migration", 1000, f"migration:{wallet.address}")
    ]
    assert [p.name for p in await Puffle.find(Puffle.owner_wallet == wallet.address).to_list()] == [
        "Blinky"
    ]
    audit = await AuditLog.find_one(AuditLog.wallet_address == wallet.address)
    assert audit is not None and audit.action == "migration" and audit.source == "in_game"


async def test_a_save_s_name_another_player_has_is_given_a_number_and_reported(
    server: RunningServer,
) -> None:
    await User(wallet_address=Wallet().address, username="waddles").insert()
    wallet = Wallet()
    client, _, _ = await enter(server.ws_url, wallet)

    result = await client.call({"type": "migrate_data", "localData": HONEST})
    await client.close()

    assert result["accepted"]["username"] == "Waddles2"
    assert result["renamed"] == {"from": "Waddles", "to": "Waddles2"}
    user = await User.find_one(User.wallet_address == wallet.address)
    assert user is not None and (user.username, user.username_lower) == ("Waddles2", "waddles2")
    audit = await AuditLog.find_one(AuditLog.wallet_address == wallet.address)
    assert audit is not None and audit.details["accepted"]["username"] == "Waddles2"


@pytest.mark.parametrize("name", ["L0serKing", "Admin", "Mod_Squad"])
def test_a_save_s_name_is_held_to_the_name_policy(name: str) -> None:
    plan = _planner().plan({"penguin_name": name})

    assert plan.username is None
    assert [d.field for d in plan.dropped] == ["penguin_name"]


async def test_a_forged_save_is_held_for_review_and_credits_nothing(server: RunningServer) -> None:
    wallet = Wallet()
    client, _, _ = await enter(server.ws_url, wallet)

    held = await client.call({"type": "migrate_data", "localData": FORGED})
    again = await client.call({"type": "migrate_data", "localData": HONEST})
    await client.close()
    async with connect(server.ws_url) as later:
        signed = await sign_in(later, wallet)

    assert held["status"] == "pending_review" and held["coins"] == 0
    assert held["held"] == [
        "coins: 50000 (more than 1000)",
        "not for sale: crown, gold_medal, penguin_band_bus",
        "puffles: 10 (more than 2)",
    ]
    assert again["code"] == "conflict"
    assert signed["user"]["migration"] == {
        "claimId": held["claimId"], "status": "pending_review", "coins": 50000, "reason": None,
        "decidedAt": None,
    }  # fmt: skip
    user = await _user(wallet)
    assert user.coins == 0 and user.migrated_at is None and user.unlocked_cosmetics == []
    claim = await MigrationClaim.find_one(MigrationClaim.wallet_address == wallet.address)
    assert claim is not None and claim.status == "pending" and claim.credited == 0
    assert '"coins":1000000000' in claim.submitted  # the save as it was sent
    assert await Transaction.find(Transaction.wallet_address == wallet.address).count() == 0
    assert await Puffle.find(Puffle.owner_wallet == wallet.address).count() == 0
    audit = await AuditLog.find_one(AuditLog.wallet_address == wallet.address)
    assert audit is not None and audit.action == "migration_held"


async def test_gifts_are_not_progress_a_player_given_the_bonus_and_a_promo_still_migrates(
    server: RunningServer,
) -> None:
    wallet = Wallet()
    client, _, _ = await enter(server.ws_url, wallet)
    services = server.node.services
    await services.promos.create("HELLO", coins=30, items=["tree_pin"], max_redemptions=5,
                                 created_by="admin:test")  # fmt: skip
    await client.call({"type": "redeem_promo", "code": "HELLO"})
    await services.economy.daily_bonus(wallet.address)
    await services.economy.apply(wallet.address, 5, "admin_adjustment", idempotency_key="gift",
                                 actor="admin:test", reason="a staff gift")  # fmt: skip

    result = await client.call({"type": "migrate_data", "localData": HONEST})
    await client.close()

    assert result["status"] == "applied"
    user = await _user(wallet)
    assert user.coins == 30 + 25 + 5 + 1000
    assert set(user.unlocked_cosmetics) == {"tree_pin", "party_hat", "red"}  # the promo's stays


async def test_after_the_first_join_with_the_default_settings_a_new_player_can_migrate(
    server: RunningServer,
) -> None:
    wallet = Wallet()
    client, _, _ = await enter(server.ws_url, wallet)
    await client.call({"type": "ping"})  # the join's daily bonus (if any) has had its turn

    result = await client.call({"type": "migrate_data", "localData": HONEST})
    await client.close()

    assert result["status"] == "applied"


async def _bought_something(server: RunningServer, client: Client, wallet: Wallet) -> None:
    await server.node.services.economy.apply(wallet.address, 50, "admin_adjustment",
                                             idempotency_key="g", actor="admin:test")  # fmt: skip
    bought = await client.call({"type": "purchase", "itemId": "party_hat", "idempotencyKey": "k"})
    assert bought["type"] == "purchase_result", bought


async def _played_a_free_match(server: RunningServer, client: Client, wallet: Wallet) -> None:
    other, _, joined = await enter(server.ws_url, Wallet(), room="town")
    sent = await client.call({"type": "challenge", "targetPlayerId": joined["playerId"],
                              "game": "tictactoe", "wager": 0})  # fmt: skip
    await other.recv_type("challenge")
    started = await other.call({"type": "challenge_accept", "challengeId": sent["challengeId"]})
    await other.call({"type": "match_forfeit", "matchId": started["matchId"]})
    await client.recv_type("match_end")
    await other.close()


@pytest.mark.parametrize("play", [_bought_something, _played_a_free_match])
async def test_a_player_who_has_played_cannot_migrate(server: RunningServer, play: Any) -> None:
    wallet = Wallet()
    client, _, _ = await enter(server.ws_url, wallet, room="town")
    await play(server, client, wallet)

    reply = await client.call({"type": "migrate_data", "localData": HONEST})
    await client.close()

    assert reply["code"] == "conflict"
    await _nothing_migrated(wallet)
    assert await AuditLog.find(AuditLog.wallet_address == wallet.address).count() == 0


async def test_a_player_who_lost_a_wager_down_to_nothing_cannot_migrate(
    settings: Settings, mongo_client: Mongo
) -> None:
    # The wager gates off (the fixture's), so that two new players can wager at all.
    async with run_server(settings.with_overrides(daily_bonus_coins=25), mongo_client) as server:
        first, second = Wallet(), Wallet()
        client, _, _ = await enter(server.ws_url, first, room="town")
        other, _, joined = await enter(server.ws_url, second, room="town")
        for wallet in (first, second):
            await server.node.services.economy.apply(
                wallet.address, 30, "admin_adjustment", idempotency_key=f"g{wallet.address}",
                actor="admin:test",
            )  # fmt: skip
        sent = await client.call({"type": "challenge", "targetPlayerId": joined["playerId"],
                                  "game": "tictactoe", "wager": 30})  # fmt: skip
        await other.recv_type("challenge")
        started = await other.call({"type": "challenge_accept", "challengeId": sent["challengeId"]})
        seats = {started["seat"]: (other, second), 1 - started["seat"]: (client, first)}
        for turn, cell in enumerate((0, 3, 1, 4, 2)):  # seat 0 wins, seat 1 loses it all
            await seats[turn % 2][0].call({"type": "match_move", "matchId": started["matchId"],
                                           "move": {"cell": cell}})  # fmt: skip
        loser_client, loser = seats[1]
        reply = await loser_client.call({"type": "migrate_data", "localData": HONEST})
        for each in (client, other):
            await each.close()

    assert (await _user(loser)).coins == 0
    assert reply["code"] == "conflict"
    await _nothing_migrated(loser)


async def test_a_wallet_older_than_the_window_may_not_migrate(
    server: RunningServer, clock: MovableClock
) -> None:
    wallet = Wallet()
    client, _, _ = await enter(server.ws_url, wallet)
    clock.advance(minutes=61)

    reply = await client.call({"type": "migrate_data", "localData": HONEST})
    await client.close()

    assert reply["code"] == "migration_closed"
    assert "first 60 minutes" in reply["message"]
    await _nothing_migrated(wallet)


@pytest.mark.parametrize(
    "closed",
    [{"migration_enabled": False}, {"migration_until": datetime(2020, 1, 1, tzinfo=UTC)}],
    ids=["disabled", "past_the_date"],
)
async def test_migration_switched_off_or_past_its_date_is_refused(
    settings: Settings, mongo_client: Mongo, closed: dict[str, Any]
) -> None:
    async with run_server(economy_defaults(settings).with_overrides(**closed), mongo_client) as s:
        wallet = Wallet()
        client, _, _ = await enter(s.ws_url, wallet)
        reply = await client.call({"type": "migrate_data", "localData": HONEST})
        await client.close()

    assert reply["code"] == "migration_closed"
    await _nothing_migrated(wallet)


async def test_a_save_that_is_not_an_object_is_invalid(server: RunningServer) -> None:
    client, _, _ = await enter(server.ws_url, Wallet())

    reply = await client.call({"type": "migrate_data", "localData": [1, 2]})
    await client.close()

    assert reply["code"] == "invalid_message"


async def test_a_save_larger_than_a_claim_keeps_is_invalid(
    settings: Settings, mongo_client: Mongo
) -> None:
    big = economy_defaults(settings).with_overrides(max_frame_bytes=1 << 20)
    async with run_server(big, mongo_client) as server:
        wallet = Wallet()
        client, _, _ = await enter(server.ws_url, wallet)
        save = HONEST | {"padding": "x" * 70_000}
        reply = await client.call({"type": "migrate_data", "localData": save})
        await client.close()

    assert reply["code"] == "invalid_message" and "64 KiB" in reply["message"]
    await _nothing_migrated(wallet)
