"""Buddies over real WebSockets on one node (docs/protocol.md, "Buddies"): requests online
and offline, answers, the list with who is online where, limits and clear refusals that
change nothing, presence pushes, and finding and following a buddy."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from clubpengu.config import Settings
from clubpengu.config_parsers import Rate
from clubpengu.models import BuddyRequest, Friendship
from tests.realtime.support import world
from tests.support import RunningServer, Wallet, connect, enter
from tests.transport.buddy_support import befriend
from tests.waiting import silent

Mongo = AsyncMongoClient[dict[str, Any]]


@pytest.fixture
async def server(settings: Settings, mongo_client: Mongo) -> AsyncIterator[RunningServer]:
    async with world(settings, mongo_client) as running:
        yield running


async def test_a_request_reaches_an_online_player_and_accepting_makes_buddies(
    server: RunningServer,
) -> None:
    ann, bob = Wallet(), Wallet()
    a, _, _ = await enter(server.ws_url, ann, room="town")
    b, _, in_b = await enter(server.ws_url, bob, room="coffee_shop")

    sent = await a.call({"type": "buddy_request", "walletAddress": bob.address})
    asked = await b.recv_type("buddy_requested")
    accepted = await b.call({"type": "buddy_accept", "walletAddress": ann.address})
    told = await a.recv_type("buddy_added")
    listing = await a.call({"type": "buddies"})
    await a.close()
    await b.close()

    assert sent == {"type": "buddy_request_sent", "walletAddress": bob.address}
    assert asked["from"]["walletAddress"] == ann.address
    assert accepted["buddy"]["walletAddress"] == ann.address
    assert accepted["buddy"]["online"] is True and accepted["buddy"]["room"] == "town"
    assert told["buddy"] == {
        "walletAddress": bob.address, "username": in_b["user"]["username"], "online": True,
        "room": "coffee_shop",
    }  # fmt: skip
    assert listing["buddies"] == [told["buddy"]]
    assert listing["requests"] == []
    assert await Friendship.find_all().count() == 1
    assert await BuddyRequest.find_all().count() == 0


async def test_a_request_to_someone_offline_arrives_when_they_next_join(
    server: RunningServer,
) -> None:
    ann, bob = Wallet(), Wallet()
    b, _, _ = await enter(server.ws_url, bob, room="town")
    await b.close()
    a, _, _ = await enter(server.ws_url, ann, room="town")

    sent = await a.call({"type": "buddy_request", "walletAddress": bob.address})
    b, _, _ = await enter(server.ws_url, bob, room="town")
    asked = await b.recv_type("buddy_requested")
    listing = await b.call({"type": "buddies"})
    await a.close()
    await b.close()

    assert sent["type"] == "buddy_request_sent"
    assert asked["from"]["walletAddress"] == ann.address
    assert [r["walletAddress"] for r in listing["requests"]] == [ann.address]


async def test_a_request_by_player_id_names_a_player_in_the_room(server: RunningServer) -> None:
    ann, bob = Wallet(), Wallet()
    a, _, _ = await enter(server.ws_url, ann, room="town")
    b, _, in_b = await enter(server.ws_url, bob, room="town")

    sent = await a.call({"type": "buddy_request", "playerId": in_b["playerId"]})
    absent = await a.call({"type": "buddy_request", "playerId": "p0000000000000000"})
    await a.close()
    await b.close()

    assert sent == {"type": "buddy_request_sent", "walletAddress": bob.address}
    assert absent["code"] == "not_found"


async def test_self_requests_and_duplicates_are_clear_errors_that_change_nothing(
    server: RunningServer,
) -> None:
    ann, bob = Wallet(), Wallet()
    a, _, _ = await enter(server.ws_url, ann, room="town")
    b, _, _ = await enter(server.ws_url, bob, room="town")

    oneself = await a.call({"type": "buddy_request", "walletAddress": ann.address})
    first = await a.call({"type": "buddy_request", "walletAddress": bob.address})
    again = await a.call({"type": "buddy_request", "walletAddress": bob.address})
    nobody = await a.call({"type": "buddy_request", "walletAddress": Wallet().address})
    garbage = await a.call({"type": "buddy_request", "walletAddress": "not a wallet"})
    await b.call({"type": "buddy_accept", "walletAddress": ann.address})
    buddies_again = await a.call({"type": "buddy_request", "walletAddress": bob.address})
    accept_again = await b.call({"type": "buddy_accept", "walletAddress": ann.address})
    await a.close()
    await b.close()

    assert oneself["code"] == "invalid_message"
    assert first["type"] == "buddy_request_sent"
    assert again["code"] == "conflict"
    assert nobody["code"] == "not_found"
    assert garbage["code"] == "invalid_message"
    assert buddies_again["code"] == "conflict"
    assert accept_again["code"] == "not_found"
    assert await Friendship.find_all().count() == 1
    assert await BuddyRequest.find_all().count() == 0


async def test_asking_someone_who_asked_you_makes_you_buddies(server: RunningServer) -> None:
    ann, bob = Wallet(), Wallet()
    a, _, _ = await enter(server.ws_url, ann, room="town")
    b, _, _ = await enter(server.ws_url, bob, room="town")

    await a.call({"type": "buddy_request", "walletAddress": bob.address})
    answer = await b.call({"type": "buddy_request", "walletAddress": ann.address})
    told = await a.recv_type("buddy_added")
    await a.close()
    await b.close()

    assert answer["type"] == "buddy_added"
    assert answer["buddy"]["walletAddress"] == ann.address
    assert told["buddy"]["walletAddress"] == bob.address
    assert await Friendship.find_all().count() == 1


async def test_decline_and_remove(server: RunningServer) -> None:
    ann, bob = Wallet(), Wallet()
    a, _, _ = await enter(server.ws_url, ann, room="town")
    b, _, _ = await enter(server.ws_url, bob, room="town")

    await a.call({"type": "buddy_request", "walletAddress": bob.address})
    declined = await b.call({"type": "buddy_decline", "walletAddress": ann.address})
    quiet = await silent(a, kind="buddy_declined")
    await befriend(a, b, bob, ann)
    removed = await a.call({"type": "buddy_remove", "walletAddress": bob.address})
    told = await b.recv_type("buddy_removed")
    not_buddies = await a.call({"type": "buddy_remove", "walletAddress": bob.address})
    await a.close()
    await b.close()

    assert declined == {"type": "buddy_declined", "walletAddress": ann.address}
    assert quiet
    assert removed == {"type": "buddy_removed", "walletAddress": bob.address}
    assert told == {"type": "buddy_removed", "walletAddress": ann.address}
    assert not_buddies["code"] == "not_found"
    assert await Friendship.find_all().count() == 0


async def test_a_request_sent_is_listed_and_withdrawing_it_tells_the_other(
    server: RunningServer,
) -> None:
    ann, bob, cid = Wallet(), Wallet(), Wallet()
    a, _, _ = await enter(server.ws_url, ann, room="town")
    b, _, in_b = await enter(server.ws_url, bob, room="town")
    c, _, in_c = await enter(server.ws_url, cid, room="town")

    await a.call({"type": "buddy_request", "walletAddress": bob.address})
    await b.recv_type("buddy_requested")
    await a.call({"type": "buddy_request", "walletAddress": cid.address})
    await c.recv_type("buddy_requested")
    listed = await a.call({"type": "buddies"})
    withdrawn = await a.call({"type": "buddy_withdraw", "walletAddress": bob.address})
    told = await b.recv_type("buddy_request_withdrawn")
    bobs = await b.call({"type": "buddies"})
    accept_gone = await b.call({"type": "buddy_accept", "walletAddress": ann.address})
    again = await a.call({"type": "buddy_withdraw", "walletAddress": bob.address})
    never = await b.call({"type": "buddy_withdraw", "walletAddress": cid.address})
    garbage = await a.call({"type": "buddy_withdraw", "walletAddress": "not a wallet"})
    after = await a.call({"type": "buddies"})
    await a.close()
    await b.close()
    await c.close()

    assert listed["sent"] == [
        {"walletAddress": cid.address, "username": in_c["user"]["username"]},
        {"walletAddress": bob.address, "username": in_b["user"]["username"]},
    ]  # newest first
    assert withdrawn == {"type": "buddy_request_withdrawn", "walletAddress": bob.address}
    assert told == {"type": "buddy_request_withdrawn", "walletAddress": ann.address}
    assert bobs["requests"] == []
    assert accept_gone["code"] == "not_found"
    assert again["code"] == "not_found" and again["message"] == "You have not asked this player"
    assert never["code"] == "not_found"
    assert garbage["code"] == "invalid_message"
    assert [s["walletAddress"] for s in after["sent"]] == [cid.address]
    assert await Friendship.find_all().count() == 0
    assert [r.to_wallet for r in await BuddyRequest.find_all().to_list()] == [cid.address]


async def test_a_request_hidden_by_an_ignore_is_listed_and_withdrawn_without_a_word(
    server: RunningServer,
) -> None:
    ann, bob = Wallet(), Wallet()
    a, _, _ = await enter(server.ws_url, ann, room="town")
    b, _, _ = await enter(server.ws_url, bob, room="town")
    await b.call({"type": "ignore", "walletAddress": ann.address})

    await a.call({"type": "buddy_request", "walletAddress": bob.address})
    listed = await a.call({"type": "buddies"})
    withdrawn = await a.call({"type": "buddy_withdraw", "walletAddress": bob.address})
    quiet = await silent(b, kind="buddy_request_withdrawn")
    await a.close()
    await b.close()

    # The sender sees the request as any other: nothing tells them they are ignored.
    assert [s["walletAddress"] for s in listed["sent"]] == [bob.address]
    assert withdrawn["type"] == "buddy_request_withdrawn"
    assert quiet
    assert await BuddyRequest.find_all().count() == 0


async def test_a_full_buddy_list_refuses_more_and_changes_nothing(
    settings: Settings, mongo_client: Mongo
) -> None:
    ann, bob, cat = Wallet(), Wallet(), Wallet()
    async with world(settings, mongo_client, buddy_limit=1) as server:
        a, _, _ = await enter(server.ws_url, ann, room="town")
        b, _, _ = await enter(server.ws_url, bob, room="town")
        c, _, _ = await enter(server.ws_url, cat, room="town")
        await befriend(a, b, bob, ann)

        mine_full = await a.call({"type": "buddy_request", "walletAddress": cat.address})
        await c.call({"type": "buddy_request", "walletAddress": ann.address})
        on_accept = await a.call({"type": "buddy_accept", "walletAddress": cat.address})
        theirs_full = await c.call({"type": "buddy_request", "walletAddress": bob.address})
        for client in (a, b, c):
            await client.close()

    assert mine_full["code"] == "buddy_limit"
    assert on_accept["code"] == "buddy_limit"
    assert theirs_full["type"] == "buddy_request_sent"  # the limit counts on accepting
    assert await Friendship.find_all().count() == 1


async def test_requests_are_rate_limited(settings: Settings, mongo_client: Mongo) -> None:
    async with world(settings, mongo_client, buddy_request_rate=Rate(2, 60.0)) as server:
        a, _, _ = await enter(server.ws_url, Wallet(), room="town")
        targets = []
        for _ in range(3):
            wallet = Wallet()
            client, _, _ = await enter(server.ws_url, wallet, room="town")
            await client.close()
            targets.append(wallet)

        answers = [
            await a.call({"type": "buddy_request", "walletAddress": t.address}) for t in targets
        ]
        await a.close()

    assert [x["type"] for x in answers[:2]] == ["buddy_request_sent"] * 2
    assert answers[2]["code"] == "rate_limited"
    assert await BuddyRequest.find_all().count() == 2


async def test_buddies_are_told_when_a_player_comes_moves_and_leaves(
    server: RunningServer,
) -> None:
    ann, bob = Wallet(), Wallet()
    a, _, _ = await enter(server.ws_url, ann, room="town")
    b, _, _ = await enter(server.ws_url, bob, room="town")
    await befriend(a, b, bob, ann)
    await a.close()
    offline = await b.recv_type("buddy_offline")

    a, _, _ = await enter(server.ws_url, ann, room="dock")
    online = await b.recv_type("buddy_online")
    await a.call({"type": "change_room", "room": "coffee_shop"})
    moved = await b.recv_type("buddy_moved")
    await a.close()
    gone = await b.recv_type("buddy_offline")
    await b.close()

    assert offline == {"type": "buddy_offline", "walletAddress": ann.address}
    assert online == {"type": "buddy_online", "walletAddress": ann.address, "room": "dock"}
    assert moved == {"type": "buddy_moved", "walletAddress": ann.address, "room": "coffee_shop"}
    assert gone == offline


async def test_find_buddy_and_follow_them(settings: Settings, mongo_client: Mongo) -> None:
    ann, bob, cat = Wallet(), Wallet(), Wallet()
    async with world(settings, mongo_client, room_capacity=2) as server:
        a, _, _ = await enter(server.ws_url, ann, room="town")
        b, _, in_b = await enter(server.ws_url, bob, room="dock")
        await befriend(a, b, bob, ann)

        found = await a.call({"type": "find_buddy", "walletAddress": bob.address})
        followed = await a.call({"type": "change_room", "room": found["follow"]})
        c, _, _ = await enter(server.ws_url, cat, room="town")
        await befriend(c, b, bob, cat)
        where = await c.call({"type": "find_buddy", "walletAddress": bob.address})
        full = await c.call({"type": "change_room", "room": where["follow"]})
        stranger = await c.call({"type": "find_buddy", "walletAddress": ann.address})
        for client in (a, b, c):
            await client.close()

    assert found == {
        "type": "buddy_found", "walletAddress": bob.address,
        "username": in_b["user"]["username"], "online": True, "room": "dock",
        "follow": "dock~1",
    }  # fmt: skip
    assert followed["type"] == "joined" and followed["room"] == "dock"
    assert where["room"] == "dock"
    assert full["code"] == "room_full"
    assert stranger["code"] == "not_found"


async def test_guests_have_no_buddies(settings: Settings, mongo_client: Mongo) -> None:
    async with (
        world(settings, mongo_client, require_wallet_auth=False) as server,
        connect(server.ws_url) as guest,
    ):
        await guest.call({"type": "join", "room": "town"})
        refused = await guest.call({"type": "buddies"})

    assert refused["code"] == "forbidden"
