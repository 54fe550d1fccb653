"""docs/protocol.md §2-§3 over real WebSockets against the real database: joining and leaving,
tick-batched movement with bounds and speed, change_room, full rooms, restored places."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from clubpengu.config import Settings
from clubpengu.realtime.movement import MOVE_SLACK_SECONDS
from tests.realtime.support import acked, rooms_file, tick, world
from tests.support import RunningServer, Wallet, disconnected, enter
from tests.waiting import silent

Mongo = AsyncMongoClient[dict[str, Any]]


@pytest.fixture
async def server(settings: Settings, mongo_client: Mongo) -> Any:
    async with world(settings, mongo_client) as running:
        yield running


async def test_a_joining_player_sees_the_others_and_they_see_it(server: RunningServer) -> None:
    first, _, first_joined = await enter(server.ws_url, Wallet(), room="plaza")

    second, _, second_joined = await enter(server.ws_url, Wallet(), room="plaza")
    announced = await first.recv_type("player_joined")
    await first.close()
    await second.close()

    assert [p["playerId"] for p in second_joined["players"]] == [
        first_joined["playerId"],
        second_joined["playerId"],
    ]
    assert announced["player"] == second_joined["players"][1]
    assert set(announced["player"]) >= {"playerId", "walletAddress", "username", "x", "y"}
    assert "rid" not in announced


async def test_a_player_who_leaves_is_announced_to_the_room(server: RunningServer) -> None:
    stayer, _, _ = await enter(server.ws_url, Wallet(), room="plaza")
    leaver, _, joined = await enter(server.ws_url, Wallet(), room="plaza")
    await stayer.recv_type("player_joined")

    await leaver.close()  # code 1000: a deliberate leave, announced at once
    left = await stayer.recv_type("player_left")
    await stayer.close()

    assert left == {"type": "player_left", "playerId": joined["playerId"]}


async def test_several_moves_in_one_tick_make_one_batch_with_the_latest_position(
    server: RunningServer,
) -> None:
    mover, _, joined = await enter(server.ws_url, Wallet(), room="plaza")
    watcher, _, _ = await enter(server.ws_url, Wallet(), room="plaza")
    x, y = joined["players"][0]["x"], joined["players"][0]["y"]

    for step in (1, 2, 3):
        await acked(mover, {"type": "move", "x": x + step, "y": y}, rid=f"m{step}")
    batches = await tick(server)
    seen_by_mover = await mover.recv_type("moves")
    seen_by_watcher = await watcher.recv_type("moves")
    quiet = await silent(watcher, kind="moves")
    await mover.close()
    await watcher.close()

    expected = {
        "type": "moves",
        "room": "plaza",
        "moves": [{"playerId": joined["playerId"], "x": x + 3, "y": y}],
    }
    assert batches == 1
    assert seen_by_mover == expected == seen_by_watcher
    assert quiet


async def test_no_batch_is_sent_when_nobody_moved(server: RunningServer) -> None:
    client, _, _ = await enter(server.ws_url, Wallet(), room="plaza")

    batches = await tick(server)
    quiet = await silent(client)
    await client.close()

    assert batches == 0
    assert quiet


async def test_a_batch_holds_every_mover_of_the_tick(server: RunningServer) -> None:
    a, _, a_joined = await enter(server.ws_url, Wallet(), room="dock")
    b, _, b_joined = await enter(server.ws_url, Wallet(), room="dock")
    a_at, b_at = b_joined["players"]  # in the order they came

    await acked(a, {"type": "move", "x": a_at["x"] + 10, "y": a_at["y"]})
    await acked(b, {"type": "move", "x": b_at["x"] - 10, "y": b_at["y"]})
    await tick(server)
    batch = await a.recv_type("moves")
    await a.close()
    await b.close()

    assert {m["playerId"]: m["x"] for m in batch["moves"]} == {
        a_joined["playerId"]: a_at["x"] + 10,
        b_joined["playerId"]: b_at["x"] - 10,
    }


async def test_the_tick_loop_sends_batches_on_its_own(
    settings: Settings, mongo_client: Mongo
) -> None:
    async with world(settings, mongo_client, tick_rate=20) as server:
        client, _, joined = await enter(server.ws_url, Wallet(), room="town")
        x, y = joined["players"][0]["x"], joined["players"][0]["y"]
        sent = time.monotonic()

        await client.send({"type": "move", "x": x + 5, "y": y})
        batch = await client.recv_type("moves", timeout=2)
        elapsed = time.monotonic() - sent
        quiet = await silent(client, kind="moves")
        await client.close()

    assert batch["moves"] == [{"playerId": joined["playerId"], "x": x + 5, "y": y}]
    assert elapsed < 0.5  # one tick is 50 ms
    assert quiet  # and nothing more once nobody moves


async def test_a_position_outside_the_room_is_clamped_to_its_bounds(
    settings: Settings, mongo_client: Mongo, tmp_path: Path
) -> None:
    rooms = rooms_file(tmp_path, {"id": "yard", "spawn": [990, 595], "speed": 1000})
    async with world(settings, mongo_client, rooms_file=rooms) as server:
        client, _, joined = await enter(server.ws_url, Wallet(), room="yard")

        await acked(client, {"type": "move", "x": 5000, "y": 5000})
        await tick(server)
        batch = await client.recv_type("moves")
        await client.close()

    assert batch["moves"] == [{"playerId": joined["playerId"], "x": 1000, "y": 600}]


async def test_a_jump_faster_than_the_speed_limit_is_cut_short_along_the_line(
    settings: Settings, mongo_client: Mongo, tmp_path: Path
) -> None:
    rooms = rooms_file(tmp_path, {"id": "yard", "spawn": [100, 100], "speed": 100})
    async with world(settings, mongo_client, rooms_file=rooms) as server:
        client, _, joined = await enter(server.ws_url, Wallet(), room="yard")
        x, y = joined["players"][0]["x"], joined["players"][0]["y"]

        await acked(client, {"type": "move", "x": x + 800, "y": y})  # 800 units at once
        await tick(server)
        batch = await client.recv_type("moves")
        await client.close()

    # A burst may cover at most speed * slack: 25 units toward the target.
    assert batch["moves"][0]["x"] == pytest.approx(x + 100 * MOVE_SLACK_SECONDS)
    assert batch["moves"][0]["y"] == y


@pytest.mark.parametrize(
    "move",
    [{"x": "12", "y": 3}, {"x": 1}, {"x": True, "y": 1}, {"x": None, "y": 1}],
)
async def test_a_malformed_move_is_an_invalid_message(
    server: RunningServer, move: dict[str, Any]
) -> None:
    client, _, _ = await enter(server.ws_url, Wallet(), room="town")

    reply = await acked(client, {"type": "move", **move})
    await client.close()

    assert reply["code"] == "invalid_message"


async def test_a_move_before_joining_is_not_in_room(server: RunningServer) -> None:
    from tests.support import connect, sign_in

    async with connect(server.ws_url) as client:
        await sign_in(client, Wallet())
        reply = await acked(client, {"type": "move", "x": 1, "y": 1})

    assert reply["code"] == "not_in_room"


async def test_rooms_isolate_moves_and_chat(server: RunningServer) -> None:
    here, _, joined = await enter(server.ws_url, Wallet(), room="beach")
    elsewhere, _, _ = await enter(server.ws_url, Wallet(), room="dock")
    spot = joined["players"][0]

    await acked(here, {"type": "move", "x": spot["x"] + 1, "y": spot["y"]})
    await acked(here, {"type": "chat", "text": "anyone?"}, rid="c")
    await tick(server)
    quiet = await silent(elsewhere)
    await here.close()
    await elsewhere.close()

    assert quiet


async def test_change_room_moves_the_player_between_rooms(server: RunningServer) -> None:
    old_room, _, _ = await enter(server.ws_url, Wallet(), room="town")
    new_room, _, _ = await enter(server.ws_url, Wallet(), room="plaza")
    mover, _, joined = await enter(server.ws_url, Wallet(), room="town")
    await old_room.recv_type("player_joined")

    moved = await mover.request({"type": "change_room", "room": "plaza", "rid": 7})
    left = await old_room.recv_type("player_left")
    arrived = await new_room.recv_type("player_joined")
    for client in (old_room, new_room, mover):
        await client.close()

    assert moved["type"] == "joined" and moved["room"] == "plaza" and moved["rid"] == 7
    assert moved["playerId"] == joined["playerId"]
    assert len(moved["players"]) == 2
    assert left == {"type": "player_left", "playerId": joined["playerId"]}
    assert arrived["player"]["playerId"] == joined["playerId"]


async def test_a_full_instance_asked_for_by_id_answers_room_full_and_the_player_stays(
    settings: Settings, mongo_client: Mongo, tmp_path: Path
) -> None:
    rooms = rooms_file(tmp_path, {"id": "lobby"}, {"id": "closet", "capacity": 1})
    async with world(settings, mongo_client, rooms_file=rooms) as server:
        first, _, _ = await enter(server.ws_url, Wallet(), room="closet")
        second, _, in_second = await enter(server.ws_url, Wallet(), room="closet")
        third, _, _ = await enter(server.ws_url, Wallet(), room="lobby")

        refused = await third.request({"type": "change_room", "room": "closet~2", "rid": 1})
        still_here = await acked(third, {"type": "chat", "text": "still in the lobby"})
        for client in (first, second, third):
            await client.close()

    assert in_second["room"] == "closet~2"
    assert refused["type"] == "error" and refused["code"] == "room_full" and refused["rid"] == 1
    assert "full" in refused["message"]
    assert still_here["type"] == "ok"


async def test_the_last_room_and_position_are_restored_on_the_next_join(
    server: RunningServer,
) -> None:
    wallet = Wallet()
    client, _, joined = await enter(server.ws_url, wallet, room="iceberg")
    spot = joined["players"][0]
    await acked(client, {"type": "move", "x": spot["x"] + 20, "y": spot["y"] - 20})
    await client.close()
    await disconnected(wallet)

    again, _, rejoined = await enter(server.ws_url, wallet)  # no room: the last one
    await again.close()

    me = next(p for p in rejoined["players"] if p["playerId"] == rejoined["playerId"])
    assert rejoined["room"] == "iceberg"
    assert (me["x"], me["y"]) == (spot["x"] + 20, spot["y"] - 20)


async def test_players_joining_one_room_arrive_on_spots_of_their_own(
    server: RunningServer,
) -> None:
    wallets = [Wallet() for _ in range(4)]
    clients, spots = [], []
    for wallet in wallets:
        client, _, joined = await enter(server.ws_url, wallet, room="snow_forts")
        me = next(p for p in joined["players"] if p["playerId"] == joined["playerId"])
        clients.append(client)
        spots.append((me["x"], me["y"]))
    elsewhere = await clients[0].call({"type": "change_room", "room": "dock"})
    back = await clients[0].call({"type": "change_room", "room": "snow_forts"})
    for client in clients:
        await client.close()

    assert len(set(spots)) == 4
    assert all(abs(x - 760) <= 200 and abs(y - 620) <= 200 for x, y in spots)
    moved = next(p for p in back["players"] if p["playerId"] == back["playerId"])
    assert (moved["x"], moved["y"]) == spots[0]  # the same player, the same spot
    assert elsewhere["room"] == "dock"
