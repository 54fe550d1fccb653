"""Coins, shop, equipment and promo codes over real WebSockets and the real ledger."""

from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient

from clubpengu.config import Settings
from clubpengu.models import Transaction, User
from tests.support import RunningServer, Wallet, connect, enter, grant, run_server, sign_in


async def _ledger_sum(wallet: Wallet) -> int:
    entries = await Transaction.find(Transaction.wallet_address == wallet.address).to_list()
    return sum(e.amount for e in entries)


async def test_the_catalogue_lists_items_with_prices(server: RunningServer) -> None:
    client, _, _ = await enter(server.ws_url, Wallet())
    reply = await client.call({"type": "catalog"})
    await client.close()

    items = {item["id"]: item for item in reply["items"]}
    assert reply["type"] == "catalog"
    assert items["party_hat"]["price"] == 50 and items["party_hat"]["slot"] == "head"


async def test_a_purchase_debits_unlocks_and_pushes_the_balance(server: RunningServer) -> None:
    wallet = Wallet()
    client, _, _ = await enter(server.ws_url, wallet)
    await grant(server, wallet, 100)
    granted = await client.recv_type("coins")

    result = await client.call(
        {"type": "purchase", "itemId": "party_hat", "idempotencyKey": "buy-1"}
    )
    pushed = await client.recv_type("coins")
    await client.close()

    assert granted == {"type": "coins", "coins": 100, "delta": 100, "reason": "admin_adjustment"}
    assert result == {
        "type": "purchase_result", "itemId": "party_hat", "price": 50, "coins": 50,
        "replayed": False,
    }  # fmt: skip
    assert pushed == {"type": "coins", "coins": 50, "delta": -50, "reason": "purchase"}
    user = await User.find_one(User.wallet_address == wallet.address)
    assert user is not None and user.coins == 50 and "party_hat" in user.unlocked_cosmetics
    assert await _ledger_sum(wallet) == 50


async def test_a_purchase_without_enough_coins_changes_nothing(server: RunningServer) -> None:
    wallet = Wallet()
    client, _, _ = await enter(server.ws_url, wallet)

    reply = await client.call({"type": "purchase", "itemId": "sled", "idempotencyKey": "k"})
    await client.close()

    assert reply["code"] == "insufficient_funds"
    user = await User.find_one(User.wallet_address == wallet.address)
    assert user is not None and user.coins == 0 and user.unlocked_mounts == ["none"]
    assert await Transaction.count() == 0


async def test_buying_an_owned_or_unknown_item_is_refused(server: RunningServer) -> None:
    wallet = Wallet()
    client, _, _ = await enter(server.ws_url, wallet)
    await grant(server, wallet, 200)
    await client.call({"type": "purchase", "itemId": "party_hat", "idempotencyKey": "a"})

    again = await client.call({"type": "purchase", "itemId": "party_hat", "idempotencyKey": "b"})
    unknown = await client.call({"type": "purchase", "itemId": "unicorn", "idempotencyKey": "c"})
    bad = await client.call({"type": "purchase", "itemId": "party_hat"})
    await client.close()

    assert again["code"] == "conflict"
    assert unknown["code"] == "not_found"
    assert bad["code"] == "invalid_message"
    assert await _ledger_sum(wallet) == 150


async def test_the_same_purchase_key_twice_is_one_purchase(server: RunningServer) -> None:
    wallet = Wallet()
    client, _, _ = await enter(server.ws_url, wallet)
    await grant(server, wallet, 100)
    buy = {"type": "purchase", "itemId": "tree_pin", "idempotencyKey": "same"}

    first = await client.call(buy)
    second = await client.call(buy)
    await client.close()

    assert first["replayed"] is False and second["replayed"] is True
    assert first["coins"] == second["coins"] == 75
    assert await _ledger_sum(wallet) == 75


async def test_equipping_shows_the_room_the_new_look(server: RunningServer) -> None:
    wearer, watcher = Wallet(), Wallet()
    client, _, joined = await enter(server.ws_url, wearer, room="plaza")
    other, _, _ = await enter(server.ws_url, watcher, room="plaza")
    await grant(server, wearer, 100)
    await client.call({"type": "purchase", "itemId": "party_hat", "idempotencyKey": "h"})

    reply = await client.call({"type": "equip", "slot": "head", "itemId": "party_hat"})
    seen = await other.recv_type("player_look")
    await client.close()
    await other.close()

    assert reply["type"] == "customization"
    assert reply["customization"]["head"] == "party_hat"
    assert seen == {
        "type": "player_look", "playerId": joined["playerId"],
        "customization": reply["customization"],
    }  # fmt: skip


async def test_a_look_changed_between_sign_in_and_join_is_the_look_the_join_shows(
    server: RunningServer,
) -> None:
    # The join takes the user the sign-in returned only when it is the next request: the
    # purchase and the equip in between changed the user.
    wallet = Wallet()
    async with connect(server.ws_url) as client:
        await sign_in(client, wallet)
        await grant(server, wallet, 100)
        await client.call({"type": "purchase", "itemId": "party_hat", "idempotencyKey": "h"})
        equipped = await client.call({"type": "equip", "slot": "head", "itemId": "party_hat"})
        joined = await client.call({"type": "join", "room": "town"})

    assert equipped["customization"]["head"] == "party_hat"
    assert joined["user"]["customization"]["head"] == "party_hat"
    assert joined["user"]["coins"] == 50
    [me] = [p for p in joined["players"] if p["playerId"] == joined["playerId"]]
    assert me["customization"]["head"] == "party_hat"


async def test_equipping_an_item_not_owned_is_forbidden(server: RunningServer) -> None:
    wallet = Wallet()
    client, _, _ = await enter(server.ws_url, wallet)

    reply = await client.call({"type": "equip", "slot": "head", "itemId": "party_hat"})
    wrong_slot = await client.call({"type": "set_customization", "customization": {"feet": "blue"}})
    await client.close()

    assert reply["code"] == "forbidden"
    assert wrong_slot["code"] == "forbidden"
    user = await User.find_one(User.wallet_address == wallet.address)
    assert user is not None and "head" not in user.customization


async def test_a_promo_code_grants_once(server: RunningServer) -> None:
    wallet = Wallet()
    await server.node.services.promos.create("WELCOME", coins=30, max_redemptions=5, created_by="t")
    client, _, _ = await enter(server.ws_url, wallet)

    redeemed = await client.call({"type": "redeem_promo", "code": "welcome"})
    pushed = await client.recv_type("coins")
    again = await client.call({"type": "redeem_promo", "code": "WELCOME"})
    missing = await client.call({"type": "redeem_promo", "code": "NOPE123"})
    await client.close()

    assert redeemed == {
        "type": "promo_result",
        "code": "WELCOME",
        "coins": 30,
        "items": [],
        "balance": 30,
    }
    assert pushed["delta"] == 30 and pushed["reason"] == "promo"
    assert again["code"] == "conflict"
    assert missing["code"] == "not_found"


async def test_the_daily_bonus_is_paid_once_per_day_on_join(
    settings: Settings, mongo_client: AsyncMongoClient[dict[str, Any]]
) -> None:
    wallet = Wallet()
    # A wallet a second old is paid here (no minimum age); the default waits a day or a
    # game: tests/transport/test_sign_up_pressure_ws.py.
    anyone = settings.with_overrides(daily_bonus_coins=25, daily_bonus_min_age=0.0)
    async with run_server(anyone, mongo_client) as server:
        client, signed, _ = await enter(server.ws_url, wallet)
        bonus = await client.recv_type("coins")
        await client.close()
        async with connect(server.ws_url) as again:
            await again.call({"type": "join", "token": signed["token"]})
            stats = await again.call({"type": "ping"})

    assert bonus == {"type": "coins", "coins": 25, "delta": 25, "reason": "daily_bonus"}
    assert stats["type"] == "pong"
    user = await User.find_one(User.wallet_address == wallet.address)
    assert user is not None and user.coins == 25
    assert await Transaction.find(Transaction.type == "daily_bonus").count() == 1


async def test_guests_cannot_buy(
    settings: Settings, mongo_client: AsyncMongoClient[dict[str, Any]]
) -> None:
    guests = settings.with_overrides(require_wallet_auth=False)
    async with run_server(guests, mongo_client) as server, connect(server.ws_url) as client:
        await client.call({"type": "join"})
        reply = await client.call({"type": "purchase", "itemId": "tree_pin", "idempotencyKey": "k"})

    assert reply["code"] == "forbidden"
