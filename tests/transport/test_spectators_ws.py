"""The room sees who is playing whom, and spectators get the moves: real WebSockets."""

from __future__ import annotations

from typing import Any

from tests.support import Client, RunningServer, Wallet, enter

WIN_FOR_SEAT_0 = [0, 3, 1, 4, 2]


async def _free_match(
    server: RunningServer,
) -> tuple[dict[int, Client], dict[int, Wallet], dict[str, Any], Client]:
    """Two players and a bystander in the plaza; a free tic-tac-toe match between the two."""
    a, b = Wallet(), Wallet()
    ca, _, _ = await enter(server.ws_url, a, room="plaza")
    cb, _, joined_b = await enter(server.ws_url, b, room="plaza")
    watcher, _, _ = await enter(server.ws_url, Wallet(), room="plaza")
    sent = await ca.call(
        {"type": "challenge", "targetPlayerId": joined_b["playerId"], "game": "tictactoe"}
    )
    start_b = await cb.call({"type": "challenge_accept", "challengeId": sent["challengeId"]})
    seat_b = start_b["seat"]
    clients = {seat_b: cb, 1 - seat_b: ca}
    wallets = {seat_b: b, 1 - seat_b: a}
    return clients, wallets, start_b, watcher


async def test_the_room_is_told_who_plays_whom_and_latecomers_see_it(
    server: RunningServer,
) -> None:
    clients, wallets, start, watcher = await _free_match(server)

    told = await watcher.recv_type("room_match")
    late, _, joined = await enter(server.ws_url, Wallet(), room="plaza")
    elsewhere, _, joined_town = await enter(server.ws_url, Wallet(), room="town")
    marks = {p["walletAddress"]: p.get("match") for p in joined["players"] if p["walletAddress"]}
    for client in (late, elsewhere, watcher, *clients.values()):
        await client.close()

    assert told["matchId"] == start["matchId"] and told["status"] == "active"
    assert [p["walletAddress"] for p in told["players"]] == [wallets[0].address, wallets[1].address]
    assert marks[wallets[0].address] == {
        "matchId": start["matchId"], "game": "tictactoe", "opponent": wallets[1].address,
    }  # fmt: skip
    assert all("match" not in p for p in joined_town["players"])


async def test_a_spectator_watches_the_moves_and_the_end(server: RunningServer) -> None:
    clients, wallets, start, watcher = await _free_match(server)
    match_id = start["matchId"]

    watching = await watcher.call({"type": "match_watch", "matchId": match_id})
    await clients[0].call({"type": "match_move", "matchId": match_id, "move": {"cell": 0}})
    first = await watcher.recv_type("match_spectate")
    for turn, cell in enumerate(WIN_FOR_SEAT_0[1:], start=1):
        await clients[turn % 2].call(
            {"type": "match_move", "matchId": match_id, "move": {"cell": cell}}
        )
    spectated = [await watcher.recv_type("match_spectate") for _ in range(4)]
    ended = await watcher.recv_type("room_match")
    while ended["status"] == "active":  # the start, if it is still queued
        ended = await watcher.recv_type("room_match")
    for client in (watcher, *clients.values()):
        await client.close()

    assert watching["type"] == "match_watching" and watching["view"]["board"] == [None] * 9
    assert watching["toMove"] == [0] and watching["seq"] == 0 and "seed" not in watching
    assert first["view"]["board"][0] == 0 and first["seq"] == 1 and first["toMove"] == [1]
    assert [s["seq"] for s in spectated] == [2, 3, 4, 5]
    last = spectated[-1]
    assert last["status"] == "completed" and last["winner"] == wallets[0].address
    assert last["reason"] == "three_in_a_row" and last["view"]["board"][:3] == [0, 0, 0]
    assert ended["winner"] == wallets[0].address and ended["reason"] == "three_in_a_row"


async def test_who_may_watch(server: RunningServer) -> None:
    clients, _, start, watcher = await _free_match(server)
    match_id = start["matchId"]
    away, _, _ = await enter(server.ws_url, Wallet(), room="town")

    player = await clients[0].call({"type": "match_watch", "matchId": match_id})
    other_room = await away.call({"type": "match_watch", "matchId": match_id})
    no_match = await watcher.call({"type": "match_watch", "matchId": "0" * 24})
    await watcher.call({"type": "match_watch", "matchId": match_id})
    left = await watcher.call({"type": "match_unwatch", "matchId": match_id})
    await clients[0].call({"type": "match_move", "matchId": match_id, "move": {"cell": 0}})
    await clients[0].call({"type": "match_forfeit", "matchId": match_id})
    frames = [await watcher.recv()]
    while frames[-1].get("type") != "room_match" or frames[-1]["status"] == "active":
        frames.append(await watcher.recv())
    end = frames[-1]
    over = await watcher.call({"type": "match_watch", "matchId": match_id})
    for client in (away, watcher, *clients.values()):
        await client.close()

    assert player["code"] == "invalid_message"
    assert other_room["code"] == "not_found" and no_match["code"] == "not_found"
    assert left == {"type": "match_unwatched", "matchId": match_id}
    assert end["status"] == "completed" and end["reason"] == "forfeit"
    assert "match_spectate" not in [frame["type"] for frame in frames]  # unwatched first
    assert over["code"] == "conflict"
