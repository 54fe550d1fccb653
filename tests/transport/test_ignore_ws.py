"""Ignore lists over real WebSockets on one node (docs/protocol.md, "Buddies and ignore
lists"): the ignored player's chat and emotes do not reach the ignorer, and their buddy
requests and challenges are answered exactly as if the ignorer were offline or absent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from clubpengu.config import Settings
from clubpengu.models import BuddyRequest, Friendship, Ignore
from tests.realtime.support import world
from tests.support import RunningServer, Wallet, enter
from tests.transport.buddy_support import befriend
from tests.waiting import silent

Mongo = AsyncMongoClient[dict[str, Any]]


@pytest.fixture
async def server(settings: Settings, mongo_client: Mongo) -> AsyncIterator[RunningServer]:
    async with world(settings, mongo_client) as running:
        yield running


async def test_an_ignored_player_s_chat_and_emotes_do_not_reach_the_ignorer(
    server: RunningServer,
) -> None:
    ann, pest = Wallet(), Wallet()
    a, _, _ = await enter(server.ws_url, ann, room="town")
    p, _, _ = await enter(server.ws_url, pest, room="town")
    other, _, _ = await enter(server.ws_url, Wallet(), room="town")

    ignored = await a.call({"type": "ignore", "walletAddress": pest.address})
    await p.call({"type": "chat", "text": "hello?"})
    await p.call({"type": "emote", "emote": "wave"})
    quiet = await silent(a, kind="chat") and await silent(a, kind="emote")
    heard = await other.recv_type("chat")
    seen = await other.recv_type("emote")
    await a.call({"type": "unignore", "walletAddress": pest.address})
    await p.call({"type": "chat", "text": "back again"})
    again = await a.recv_type("chat")
    for client in (a, p, other):
        await client.close()

    assert ignored == {"type": "ignored", "walletAddress": pest.address}
    assert quiet
    assert heard["text"] == "hello?" and seen["emote"] == "wave"
    assert again["text"] == "back again"


async def test_a_request_from_an_ignored_player_reads_as_one_to_someone_offline(
    server: RunningServer,
) -> None:
    ann, off, pest = Wallet(), Wallet(), Wallet()
    o, _, _ = await enter(server.ws_url, off, room="town")
    await o.close()
    a, _, _ = await enter(server.ws_url, ann, room="town")
    p, _, _ = await enter(server.ws_url, pest, room="town")
    await a.call({"type": "ignore", "walletAddress": pest.address})

    to_ignorer = await p.call({"type": "buddy_request", "walletAddress": ann.address})
    to_offline = await p.call({"type": "buddy_request", "walletAddress": off.address})
    again_ignorer = await p.call({"type": "buddy_request", "walletAddress": ann.address})
    again_offline = await p.call({"type": "buddy_request", "walletAddress": off.address})
    not_told = await silent(a, kind="buddy_requested")
    listing = await a.call({"type": "buddies"})
    accept = await a.call({"type": "buddy_accept", "walletAddress": pest.address})
    for client in (a, p):
        await client.close()

    assert to_ignorer == to_offline | {"walletAddress": ann.address}
    assert (again_ignorer["code"], again_ignorer["message"]) == (
        again_offline["code"], again_offline["message"],
    )  # fmt: skip
    assert not_told
    assert listing["requests"] == []
    assert [i["walletAddress"] for i in listing["ignored"]] == [pest.address]
    assert accept["code"] == "not_found"


async def test_a_challenge_from_an_ignored_player_reads_as_one_to_a_player_not_there(
    server: RunningServer,
) -> None:
    ann, pest = Wallet(), Wallet()
    a, _, in_a = await enter(server.ws_url, ann, room="town")
    p, _, _ = await enter(server.ws_url, pest, room="town")
    await a.call({"type": "ignore", "walletAddress": pest.address})

    # A wager past MATCH_MAX_WAGER: refused for a player present, but the absence comes first.
    offer = {"type": "challenge", "game": "tictactoe", "wager": 10**7}
    to_ignorer = await p.call(offer | {"targetPlayerId": in_a["playerId"]})
    to_nobody = await p.call(offer | {"targetPlayerId": "p0000000000000000"})
    not_told = await silent(a, kind="challenge")
    for client in (a, p):
        await client.close()

    assert to_ignorer == to_nobody
    assert to_ignorer["code"] == "not_found"
    assert not_told


async def test_ignoring_a_buddy_ends_the_friendship_and_the_requests_between_them(
    server: RunningServer,
) -> None:
    ann, bob, cat = Wallet(), Wallet(), Wallet()
    a, _, _ = await enter(server.ws_url, ann, room="town")
    b, _, _ = await enter(server.ws_url, bob, room="town")
    c, _, _ = await enter(server.ws_url, cat, room="town")
    await befriend(a, b, bob, ann)
    await a.call({"type": "buddy_request", "walletAddress": cat.address})

    await a.call({"type": "ignore", "walletAddress": bob.address})
    removed = await b.recv_type("buddy_removed")
    await a.call({"type": "ignore", "walletAddress": cat.address})
    twice = await a.call({"type": "ignore", "walletAddress": cat.address})
    oneself = await a.call({"type": "ignore", "walletAddress": ann.address})
    asks_ignored = await a.call({"type": "buddy_request", "walletAddress": cat.address})
    never = await a.call({"type": "unignore", "walletAddress": Wallet().address})
    for client in (a, b, c):
        await client.close()

    assert removed == {"type": "buddy_removed", "walletAddress": ann.address}
    assert twice["code"] == "conflict"
    assert oneself["code"] == "invalid_message"
    assert asks_ignored["code"] == "conflict"
    assert never["code"] == "not_found"
    assert await Friendship.find_all().count() == 0
    assert await BuddyRequest.find_all().count() == 0
    assert await Ignore.find_all().count() == 2


async def test_the_ignore_list_has_a_limit(settings: Settings, mongo_client: Mongo) -> None:
    ann, one, two = Wallet(), Wallet(), Wallet()
    async with world(settings, mongo_client, ignore_limit=1) as server:
        a, _, _ = await enter(server.ws_url, ann, room="town")
        for wallet in (one, two):
            client, _, _ = await enter(server.ws_url, wallet, room="town")
            await client.close()

        first = await a.call({"type": "ignore", "walletAddress": one.address})
        second = await a.call({"type": "ignore", "walletAddress": two.address})
        await a.close()

    assert first["type"] == "ignored"
    assert second["code"] == "ignore_limit"
    assert await Ignore.find_all().count() == 1


async def test_the_ignore_list_holds_across_sign_ins(server: RunningServer) -> None:
    ann, pest = Wallet(), Wallet()
    a, _, _ = await enter(server.ws_url, ann, room="town")
    p, _, _ = await enter(server.ws_url, pest, room="town")
    await a.call({"type": "ignore", "walletAddress": pest.address})
    await a.close()

    a, _, _ = await enter(server.ws_url, ann, room="town")
    await p.call({"type": "chat", "text": "remember me?"})
    quiet = await silent(a, kind="chat")
    for client in (a, p):
        await client.close()

    assert quiet
