"""Puffles over real WebSockets: adopt, feed, walk (the room sees it), release, errors."""

from __future__ import annotations

from clubpengu.models import User
from tests.support import RunningServer, Wallet, enter, grant


async def test_adopt_feed_walk_and_release(server: RunningServer) -> None:
    owner, watcher = Wallet(), Wallet()
    client, _, joined = await enter(server.ws_url, owner, room="plaza")
    other, _, _ = await enter(server.ws_url, watcher, room="plaza")
    await grant(server, owner, 500)
    await client.recv_type("coins")
    await User.find_one(User.wallet_address == owner.address).update(
        {"$set": {"inventory.puffle_o": 1}}
    )

    adopted = await client.call({"type": "puffle_adopt", "color": "blue", "name": "Bubbles"})
    coins = await client.recv_type("coins")
    puffle_id = adopted["puffle"]["puffleId"]
    fed = await client.call({"type": "puffle_feed", "puffleId": puffle_id, "itemId": "puffle_o"})
    walking = await client.call({"type": "puffle_walk", "puffleId": puffle_id})
    seen = await other.recv_type("puffle_walk")
    late, _, late_joined = await enter(server.ws_url, Wallet(), room="plaza")
    released = await client.call({"type": "puffle_release", "puffleId": puffle_id})
    home = await other.recv_type("puffle_walk")
    listed = await client.call({"type": "puffles"})
    for c in (client, other, late):
        await c.close()

    assert adopted["type"] == "puffle_adopted" and adopted["puffle"]["hunger"] == 100
    assert coins == {"type": "coins", "coins": 100, "delta": -400, "reason": "puffle_adoption"}
    assert fed["type"] == "puffle_cared" and fed["remaining"] == 0
    assert walking["puffle"]["walking"] is True
    view = {"puffleId": puffle_id, "name": "Bubbles", "color": "blue"}
    assert seen == {"type": "puffle_walk", "playerId": joined["playerId"], "puffle": view}
    [shown] = [p for p in late_joined["players"] if p["playerId"] == joined["playerId"]]
    assert shown["puffle"] == view
    assert released == {"type": "puffle_released", "puffleId": puffle_id}
    assert home["puffle"] is None
    assert listed["puffles"] == []
    assert {"id": "blue", "name": "Blue Puffle", "price": 400} in listed["colors"]
    assert {"id": "gold", "name": "Gold Puffle", "price": 1000} in listed["colors"]
    assert listed["limit"] == 10  # PUFFLE_LIMIT


async def test_puffle_errors(server: RunningServer) -> None:
    client, _, _ = await enter(server.ws_url, Wallet())

    poor = await client.call({"type": "puffle_adopt", "color": "blue", "name": "Bubbles"})
    colour = await client.call({"type": "puffle_adopt", "color": "plaid", "name": "Bubbles"})
    name = await client.call({"type": "puffle_adopt", "color": "blue", "name": "B@d"})
    missing = await client.call({"type": "puffle_walk", "puffleId": "0" * 24})
    feed = await client.call({"type": "puffle_feed", "puffleId": "0" * 24, "itemId": "sled"})
    await client.close()

    assert poor["code"] == "insufficient_funds"
    assert colour["code"] == "not_found"
    assert name["code"] == "invalid_message"
    assert missing["code"] == "not_found"
    assert feed["code"] == "invalid_message"


async def test_a_returning_player_comes_in_with_the_puffle_they_walked(
    server: RunningServer,
) -> None:
    owner = Wallet()
    client, _, _ = await enter(server.ws_url, owner, room="plaza")
    await grant(server, owner, 500)
    await client.recv_type("coins")
    adopted = await client.call({"type": "puffle_adopt", "color": "blue", "name": "Bubbles"})
    puffle_id = adopted["puffle"]["puffleId"]
    await client.call({"type": "puffle_walk", "puffleId": puffle_id})
    await client.close()
    watcher, _, _ = await enter(server.ws_url, Wallet(), room="plaza")

    back, _, joined = await enter(server.ws_url, owner, room="plaza")
    arrived = await watcher.recv_type("player_joined")
    for c in (back, watcher):
        await c.close()

    view = {"puffleId": puffle_id, "name": "Bubbles", "color": "blue"}
    [me] = [p for p in joined["players"] if p["playerId"] == joined["playerId"]]
    assert me["puffle"] == view
    assert arrived["player"]["puffle"] == view
