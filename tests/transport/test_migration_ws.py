"""In-game migration of a localStorage save, over the WebSocket against the real ledger."""

from __future__ import annotations

from typing import Any

import pytest

from clubpengu.models import AuditLog, Puffle, Transaction, User
from clubpengu.services.catalog import load_catalog
from clubpengu.services.migration_plan import MigrationPlanner
from tests.support import RunningServer, Wallet, enter

SAVE: dict[str, Any] = {
    "penguin_name": "Waddles",
    "clubpenguin_save": {"coins": 1200, "stamps": ["first_login", "party_2019"]},
    "penguin_customization": {"head": "party_hat", "color": "red"},
    "unlocked_cosmetics": ["party_hat", "red", "unicorn_horn"],
    "unlocked_mounts": ["none", "sled"],
    "puffles": [{"name": "Blinky", "color": "blue"}, {"name": "Bad", "color": "plaid"}],
    "favourite_food": "fish",
}


def _planner(max_coins: int = 1000) -> MigrationPlanner:
    return MigrationPlanner.for_catalog(load_catalog(), max_coins=max_coins, max_puffles=2)


def test_a_save_is_split_into_accepted_and_dropped() -> None:
    plan = _planner().plan(SAVE)

    assert plan.username == "Waddles"
    assert plan.coins == 1000
    assert plan.stamps == ["first_login", "party_2019"]
    assert plan.cosmetics == ["party_hat", "red"]
    assert plan.mounts == ["none", "sled"]
    assert plan.customization == {"head": "party_hat", "color": "red"}
    assert plan.puffles == [{"name": "Blinky", "color": "blue"}]
    dropped = {d.field: d.reason for d in plan.dropped}
    assert dropped["favourite_food"] == "unknown key"
    assert dropped["clubpenguin_save.coins"] == "capped at 1000 (was 1200)"
    assert dropped["unlocked_cosmetics:unicorn_horn"] == "no such cosmetic"
    assert dropped["puffles[1]"] == "unknown puffle colour"


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


async def test_a_new_player_migrates_once(server: RunningServer) -> None:
    wallet = Wallet()
    client, signed, _ = await enter(server.ws_url, wallet)
    assert signed["isNewUser"]

    result = await client.call({"type": "migrate_data", "localData": SAVE})
    pushed = await client.recv_type("coins")
    again = await client.call({"type": "migrate_data", "localData": SAVE})
    await client.close()

    assert result["type"] == "migrate_result"
    assert result["coins"] == 1200 and result["accepted"]["coins"] == 1200
    assert {"field": "favourite_food", "reason": "unknown key"} in result["dropped"]
    assert pushed == {"type": "coins", "coins": 1200, "delta": 1200, "reason": "migration"}
    assert again["code"] == "conflict"
    user = await User.find_one(User.wallet_address == wallet.address)
    assert user is not None
    assert (user.username, user.coins, user.migration_source) == ("Waddles", 1200, "localStorage")
    assert user.username_lower == "waddles" and result["renamed"] is None
    assert user.unlocked_mounts == ["none", "sled"] and user.customization["head"] == "party_hat"
    assert [p.name for p in await Puffle.find(Puffle.owner_wallet == wallet.address).to_list()] == [
        "Blinky"
    ]
    entries = await Transaction.find(Transaction.wallet_address == wallet.address).to_list()
    assert [(e.type, e.amount) for e in entries] == [("migration", 1200)]
    audit = await AuditLog.find_one(AuditLog.wallet_address == wallet.address)
    assert audit is not None and audit.action == "migration" and audit.source == "in_game"


async def test_a_save_s_name_another_player_has_is_given_a_number_and_reported(
    server: RunningServer,
) -> None:
    await User(wallet_address=Wallet().address, username="waddles").insert()
    wallet = Wallet()
    client, _, _ = await enter(server.ws_url, wallet)

    result = await client.call({"type": "migrate_data", "localData": SAVE})
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


async def test_a_player_with_progress_cannot_migrate(server: RunningServer) -> None:
    wallet = Wallet()
    client, _, _ = await enter(server.ws_url, wallet)
    await server.node.services.economy.apply(
        wallet.address, 5, "admin_adjustment", idempotency_key="x", actor="t"
    )

    reply = await client.call({"type": "migrate_data", "localData": SAVE})
    await client.close()

    assert reply["code"] == "conflict"
    user = await User.find_one(User.wallet_address == wallet.address)
    assert user is not None and user.coins == 5 and user.migrated_at is None
    assert await AuditLog.count() == 0


async def test_a_save_that_is_not_an_object_is_invalid(server: RunningServer) -> None:
    client, _, _ = await enter(server.ws_url, Wallet())

    reply = await client.call({"type": "migrate_data", "localData": [1, 2]})
    await client.close()

    assert reply["code"] == "invalid_message"
