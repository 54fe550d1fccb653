"""Stamps and leaderboards over real WebSockets and HTTP: earned from what the server saw
(a match played, chat lines, rooms visited), pushed once, paid once, shown in the
profile with when each was earned; the catalogue and the boards by message and by route;
migrated stamps checked against the catalogue."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
from pymongo import AsyncMongoClient

from clubpengu.models import Transaction, User
from clubpengu.progression.stamps import load_stamps
from tests.conftest import TEST_DB
from tests.support import Client, RunningServer, Wallet, connect, enter
from tests.waiting import eventually, silent

Mongo = AsyncMongoClient[dict[str, Any]]
WIN_FOR_SEAT_0 = [0, 3, 1, 4, 2]  # seat 0 takes a row; seat 1 made two moves


async def _user(wallet: Wallet) -> User:
    user = await User.find_one(User.wallet_address == wallet.address)
    assert user is not None
    return user


async def _prepare(client: Mongo, wallet: Wallet, **fields: Any) -> None:
    """A user document as an earlier life of the wallet left it (before it signs in)."""
    await client[TEST_DB]["users"].insert_one(
        {"walletAddress": wallet.address, "username": f"P{wallet.address[:8]}",
         "usernameLower": f"p{wallet.address[:8]}".lower(), "coins": 0,
         "stamps": ["first_login"], **fields}
    )  # fmt: skip


async def _stamps_pushed(client: Client) -> list[str]:
    """The stamp ids pushed to `client` until it has been quiet a moment."""
    earned = []
    while True:
        try:
            frame = await client.recv_type("stamp_earned", timeout=1.0)
        except TimeoutError:
            return earned
        earned.append(frame["stamp"]["id"])


async def _free_match(server: RunningServer) -> tuple[list[Client], list[Wallet]]:
    """Two new players play a free tic-tac-toe match that seat 0 wins by the rules."""
    wallets = [Wallet(), Wallet()]
    clients = []
    for wallet in wallets:
        client, _, joined = await enter(server.ws_url, wallet, room="plaza")
        clients.append((client, joined))
    (ca, _), (cb, joined_b) = clients
    sent = await ca.call(
        {"type": "challenge", "targetPlayerId": joined_b["playerId"], "game": "tictactoe"}
    )
    await cb.recv_type("challenge")
    start_b = await cb.call({"type": "challenge_accept", "challengeId": sent["challengeId"]})
    by_seat = {start_b["seat"]: cb, 1 - start_b["seat"]: ca}
    wallet_by_seat = {start_b["seat"]: wallets[1], 1 - start_b["seat"]: wallets[0]}
    for turn, cell in enumerate(WIN_FOR_SEAT_0):
        reply = await by_seat[turn % 2].call(
            {"type": "match_move", "matchId": start_b["matchId"], "move": {"cell": cell}}
        )
        assert reply["type"] == "match_state" or reply["type"] == "match_end", reply
    return [by_seat[0], by_seat[1]], [wallet_by_seat[0], wallet_by_seat[1]]


async def test_a_match_played_out_earns_its_stamps_once_with_the_reward_and_the_board(
    server: RunningServer,
) -> None:
    clients, wallets = await _free_match(server)

    # (`first_login` may have come before the match, among the frames a test skips.)
    winner_stamps = sorted(s for s in await _stamps_pushed(clients[0]) if s != "first_login")
    loser_stamps = sorted(s for s in await _stamps_pushed(clients[1]) if s != "first_login")
    board = await clients[1].call({"type": "leaderboard", "game": "tictactoe", "period": "week"})
    again, _, joined = await enter(server.ws_url, wallets[0], room="town")

    assert winner_stamps == ["first_match", "first_win"]
    assert loser_stamps == ["first_match"]
    assert sorted(joined["user"]["stamps"]) == ["first_login", "first_match", "first_win"]
    rewards = await Transaction.find(Transaction.type == "stamp_reward").to_list()
    assert [(t.wallet_address, t.amount) for t in rewards] == [(wallets[0].address, 10)]
    assert (await _user(wallets[0])).coins == 10
    assert await silent(again, kind="stamp_earned")
    assert [(s["walletAddress"], s["rank"], s["wins"]) for s in board["top"]] == [
        (wallets[0].address, 1, 1), (wallets[1].address, 2, 0)
    ]  # fmt: skip
    assert board["me"]["rank"] == 2 and board["me"]["losses"] == 1
    assert board["top"][0]["rating"] == 1662 and board["top"][0]["provisional"] is True
    for client in (*clients, again):
        await client.close()


async def test_a_new_wallet_holds_the_first_sign_in_stamp_without_a_push(
    server: RunningServer,
) -> None:
    client, signed, joined = await enter(server.ws_url, Wallet())

    assert signed["user"]["stamps"] == ["first_login"] == joined["user"]["stamps"]
    assert await silent(client, 0.5, kind="stamp_earned")
    await client.close()


async def test_the_catalogue_is_served_by_message_and_by_route_in_the_files_order(
    server: RunningServer,
) -> None:
    catalogue = [stamp.public() for stamp in load_stamps()]

    async with connect(server.ws_url) as guest:
        before_sign_in = await guest.call({"type": "stamps"})
    client, _, _ = await enter(server.ws_url, Wallet())
    signed_in = await client.call({"type": "stamps"})
    async with httpx.AsyncClient(base_url=server.url) as http:
        reply = await http.get("/stamps")

    assert before_sign_in["type"] == "stamps" and before_sign_in["stamps"] == catalogue
    assert signed_in["stamps"] == catalogue
    assert "trigger" not in signed_in["stamps"][0]
    assert reply.status_code == 200 and reply.json() == {"type": "stamps", "stamps": catalogue}
    assert reply.headers["cache-control"] == "public, max-age=3600"
    await client.close()


def _time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


async def test_a_stamp_earned_shows_when_in_the_next_sign_ins_profile(
    server: RunningServer, mongo_client: Mongo
) -> None:
    wallet = Wallet()
    # A wallet whose first stamp was earned before the times were kept.
    await _prepare(mongo_client, wallet, stats={"social": {"chats": 99}})
    client, signed, _ = await enter(server.ws_url, wallet, room="town")
    before = datetime.now(UTC).replace(microsecond=0)
    await client.call({"type": "chat", "text": "the hundredth"})
    await client.recv_type("stamp_earned")
    await eventually(_user_with_stamp(wallet, "chatterbox"), "the stamp is stored")
    await client.close()
    again, signed_again, joined = await enter(server.ws_url, wallet, room="town")

    assert signed["user"]["stampsEarnedAt"] == {}
    earned_at = signed_again["user"]["stampsEarnedAt"]
    assert list(earned_at) == ["chatterbox"] and joined["user"]["stampsEarnedAt"] == earned_at
    assert before <= _time(earned_at["chatterbox"]) <= datetime.now(UTC)
    await again.close()


async def test_a_new_wallets_first_stamp_is_earned_at_its_first_sign_in(
    server: RunningServer,
) -> None:
    wallet = Wallet()
    client, signed, _ = await enter(server.ws_url, wallet)

    user = await _user(wallet)
    assert list(signed["user"]["stampsEarnedAt"]) == ["first_login"]
    assert _time(signed["user"]["stampsEarnedAt"]["first_login"]) == user.created_at.replace(
        microsecond=user.created_at.microsecond // 1000 * 1000
    )
    await client.close()


async def test_the_hundredth_chat_line_earns_the_chat_stamp_counted_from_the_stored_stats(
    server: RunningServer, mongo_client: Mongo
) -> None:
    wallet = Wallet()
    await _prepare(mongo_client, wallet, stats={"social": {"chats": 98}})
    client, _, _ = await enter(server.ws_url, wallet, room="town")

    await client.call({"type": "chat", "text": "hello"})
    quiet = await silent(client, 0.5, kind="stamp_earned")
    await client.call({"type": "chat", "text": "hello again"})
    earned = await client.recv_type("stamp_earned")
    await client.call({"type": "chat", "text": "and again"})

    assert quiet and earned["stamp"]["id"] == "chatterbox"
    assert await silent(client, 0.5, kind="stamp_earned")
    assert (await _user(wallet)).stamps == ["first_login", "chatterbox"]
    await client.close()


async def test_the_last_room_of_the_island_earns_the_explorer_stamp_and_its_coins(
    server: RunningServer, mongo_client: Mongo
) -> None:
    wallet = Wallet()
    rooms = sorted(server.node.realtime.hub.catalogue.rooms)
    seen = [room for room in rooms if room != "dojo"]
    await _prepare(mongo_client, wallet, stampProgress={"room_visited": seen})
    client, _, _ = await enter(server.ws_url, wallet, room="town")
    assert await silent(client, 0.5, kind="stamp_earned")

    moved = await client.call({"type": "change_room", "room": "dojo"})
    earned = await client.recv_type("stamp_earned")
    paid = await client.recv_type("coins")

    assert moved["type"] == "joined"
    assert earned["stamp"]["id"] == "explorer" and earned["stamp"]["reward"] == 25
    assert paid == {"type": "coins", "coins": 25, "delta": 25, "reason": "stamp_reward"}
    user = await eventually(_user_with_stamp(wallet, "explorer"), "the stamp is stored")
    assert user.stamps == ["first_login", "explorer"]
    # The rooms seen are kept by the presence update of each join and room change.
    await eventually(lambda: _rooms_seen(wallet, rooms), "every room stored as seen")
    await client.close()


async def _rooms_seen(wallet: Wallet, rooms: list[str]) -> bool:
    return sorted((await _user(wallet)).stamp_progress.get("room_visited", [])) == rooms


def _user_with_stamp(wallet: Wallet, stamp: str) -> Any:
    async def check() -> User | None:
        user = await _user(wallet)
        return user if stamp in user.stamps else None

    return check


async def test_the_leaderboard_route_answers_with_the_board_and_refuses_a_bad_game(
    server: RunningServer,
) -> None:
    _, wallets = await _free_match(server)

    async with httpx.AsyncClient(base_url=server.url) as http:
        board = await eventually(_board(http, wallets[1].address), "the match is on the board")
        bad = await http.get("/leaderboards/chess")
        bad_period = await http.get("/leaderboards/tictactoe", params={"period": "year"})

    assert board["period"] == "all" and board["week"] is None
    assert [s["walletAddress"] for s in board["top"]] == [w.address for w in wallets]
    assert board["me"]["rank"] == 2
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_message"
    assert bad.json()["message"].startswith("game: no such game")
    assert bad_period.status_code == 400 and bad_period.json()["message"].startswith("period")


def _board(http: httpx.AsyncClient, wallet: str) -> Any:
    async def check() -> dict[str, Any] | None:
        reply = await http.get("/leaderboards/tictactoe", params={"wallet": wallet})
        body: dict[str, Any] = reply.json()
        return body if len(body["top"]) == 2 else None

    return check


async def test_a_leaderboard_message_for_an_unknown_game_is_refused(
    server: RunningServer,
) -> None:
    client, _, _ = await enter(server.ws_url, Wallet())

    reply = await client.call({"type": "leaderboard", "game": "chess", "period": "all"})
    period = await client.call({"type": "leaderboard", "game": "tictactoe", "period": "month"})

    assert reply["code"] == "invalid_message" and reply["message"].startswith("game:")
    assert period["code"] == "invalid_message" and period["message"].startswith("period:")
    await client.close()


async def test_a_migrated_save_keeps_only_catalogue_stamps_and_lists_the_others(
    server: RunningServer,
) -> None:
    wallet = Wallet()
    client, _, _ = await enter(server.ws_url, wallet)
    save = {"clubpenguin_save": {"coins": 0, "stamps": ["first_puffle", "party_2019"]}}

    result = await client.call({"type": "migrate_data", "localData": save})

    assert result["accepted"]["stamps"] == ["first_puffle"]
    assert {"field": "clubpenguin_save.stamps:party_2019", "reason": "no such stamp"} in result[
        "dropped"
    ]
    user = await _user(wallet)
    assert "party_2019" not in user.stamps and "first_puffle" in user.stamps
    await client.close()


async def test_migrated_stamps_are_earned_at_the_migration_and_held_ones_keep_their_time(
    server: RunningServer,
) -> None:
    wallet = Wallet()
    client, signed, _ = await enter(server.ws_url, wallet)
    save = {"clubpenguin_save": {"coins": 0, "stamps": ["first_login", "first_puffle"]}}

    await client.call({"type": "migrate_data", "localData": save})
    await client.close()
    again, signed_again, _ = await enter(server.ws_url, wallet)

    user = await _user(wallet)
    assert user.migrated_at is not None
    assert user.stamps_earned_at["first_puffle"] == user.migrated_at
    earned_at = signed_again["user"]["stampsEarnedAt"]
    assert earned_at["first_login"] == signed["user"]["stampsEarnedAt"]["first_login"]
    assert _time(earned_at["first_login"]) < _time(earned_at["first_puffle"])
    await again.close()


async def test_a_new_friendship_earns_both_players_the_first_buddy_stamp_once(
    server: RunningServer,
) -> None:
    ann, bob = Wallet(), Wallet()
    a, _, _ = await enter(server.ws_url, ann, room="town")
    b, _, _ = await enter(server.ws_url, bob, room="town")

    await a.call({"type": "buddy_request", "walletAddress": bob.address})
    await b.call({"type": "buddy_accept", "walletAddress": ann.address})
    pushed = [(await client.recv_type("stamp_earned"))["stamp"]["id"] for client in (a, b)]
    await b.call({"type": "buddy_remove", "walletAddress": ann.address})
    await a.call({"type": "buddy_request", "walletAddress": bob.address})
    await b.call({"type": "buddy_accept", "walletAddress": ann.address})

    assert pushed == ["first_buddy", "first_buddy"]
    assert await silent(a, 0.5, kind="stamp_earned") and await silent(b, 0.5, kind="stamp_earned")
    assert (await _user(ann)).stamps == ["first_login", "first_buddy"]
    for client in (a, b):
        await client.close()
