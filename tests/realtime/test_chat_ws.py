"""Chat and emotes (docs/protocol.md §3) over real WebSockets: who gets them, the text rules,
the word filter, the emote list, and the `ok` acknowledgement of a rid."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from clubpengu.config import Settings
from tests.realtime.support import acked, world
from tests.support import RunningServer, Wallet, enter
from tests.waiting import silent

Mongo = AsyncMongoClient[dict[str, Any]]


@pytest.fixture
async def server(settings: Settings, mongo_client: Mongo) -> Any:
    async with world(settings, mongo_client) as running:
        yield running


async def test_chat_reaches_everyone_in_the_room_sender_included(server: RunningServer) -> None:
    sender, _, joined = await enter(server.ws_url, Wallet(), room="coffee_shop")
    listener, _, _ = await enter(server.ws_url, Wallet(), room="coffee_shop")

    await sender.send({"type": "chat", "text": "  hello pengus  ", "rid": "c1"})
    own_copy = await sender.recv_type("chat")
    ack = await sender.recv()
    heard = await listener.recv_type("chat")
    await sender.close()
    await listener.close()

    assert own_copy == heard
    assert heard["playerId"] == joined["playerId"]
    assert heard["username"] == joined["user"]["username"]
    assert heard["text"] == "hello pengus"
    assert isinstance(heard["ts"], int)
    assert "rid" not in heard
    assert ack == {"type": "ok", "rid": "c1"}


async def test_without_a_rid_there_is_no_acknowledgement(server: RunningServer) -> None:
    client, _, _ = await enter(server.ws_url, Wallet(), room="town")

    await client.send({"type": "chat", "text": "hi"})
    own_copy = await client.recv()
    quiet = await silent(client)
    await client.close()

    assert own_copy["type"] == "chat"
    assert quiet


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("", "empty"),
        ("   \t ", "empty"),
        ("x" * 201, "200"),
        ("hi\nthere", "control"),
        ("bell\x07", "control"),
        ("\u202egnp.exe", "control"),
    ],
)
async def test_chat_text_that_breaks_a_rule_is_an_invalid_message(
    server: RunningServer, text: str, rule: str
) -> None:
    client, _, _ = await enter(server.ws_url, Wallet(), room="town")

    reply = await acked(client, {"type": "chat", "text": text})
    await client.close()

    assert reply["code"] == "invalid_message"
    assert rule in reply["message"]


async def test_two_hundred_characters_after_trimming_are_accepted(server: RunningServer) -> None:
    client, _, _ = await enter(server.ws_url, Wallet(), room="town")
    text = "é" * 200

    reply = await acked(client, {"type": "chat", "text": f"   {text}   "})
    await client.close()

    assert reply == {"type": "ok", "rid": "a"}


async def test_listed_words_are_masked_not_dropped(settings: Settings, mongo_client: Mongo) -> None:
    async with world(settings, mongo_client, chat_filter_words=("snowball fight", "grr")) as server:
        client, _, _ = await enter(server.ws_url, Wallet(), room="town")

        await client.send({"type": "chat", "text": "GRR, a Snowball Fight! grrr, gr"})
        heard = await client.recv_type("chat")
        await client.close()

    # Repeated letters count once, but the listed word's double letter must be there.
    assert heard["text"] == "***, a **************! ****, gr"


async def test_the_default_word_list_masks(server: RunningServer) -> None:
    client, _, _ = await enter(server.ws_url, Wallet(), room="town")

    await client.send({"type": "chat", "text": "you Idiot"})
    heard = await client.recv_type("chat")
    await client.close()

    assert heard["text"] == "you *****"


async def test_an_emote_reaches_the_room(server: RunningServer) -> None:
    sender, _, joined = await enter(server.ws_url, Wallet(), room="dojo")
    watcher, _, _ = await enter(server.ws_url, Wallet(), room="dojo")

    await sender.send({"type": "emote", "emote": "wave"})
    own_copy = await sender.recv_type("emote")
    seen = await watcher.recv_type("emote")
    await sender.close()
    await watcher.close()

    assert own_copy == seen == {"type": "emote", "playerId": joined["playerId"], "emote": "wave"}


async def test_an_unknown_emote_is_an_invalid_message(server: RunningServer) -> None:
    client, _, _ = await enter(server.ws_url, Wallet(), room="dojo")

    reply = await acked(client, {"type": "emote", "emote": "moonwalk"})
    await client.close()

    assert reply["code"] == "invalid_message"


async def test_chat_before_joining_is_not_in_room(server: RunningServer) -> None:
    from tests.support import connect, sign_in

    async with connect(server.ws_url) as client:
        await sign_in(client, Wallet())
        reply = await acked(client, {"type": "chat", "text": "hello?"})

    assert reply["code"] == "not_in_room"


async def test_words_from_the_filter_file_are_masked_in_chat(
    settings: Settings, mongo_client: Mongo, tmp_path: Path
) -> None:
    listed = tmp_path / "words.txt"
    listed.write_text("# ours\ngrumpy\n")
    changes = {"chat_filter_file": listed, "chat_filter_words": ()}
    async with world(settings, mongo_client, **changes) as server:
        client, _, _ = await enter(server.ws_url, Wallet(), room="town")

        await client.send({"type": "chat", "text": "so GRUMPYYY today"})
        heard = await client.recv_type("chat")
        await client.close()

    assert heard["text"] == "so ******** today"
