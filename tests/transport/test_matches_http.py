"""`GET /admin/matches`: the console's match list — live, finished, one player's — newest
first and paged, for every staff role, and each query on an index."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from bson import ObjectId
from pymongo import AsyncMongoClient

from clubpengu.config import Settings
from clubpengu.models import Match, MatchPlayer, MatchStatus
from clubpengu.services.staff_matches import listing
from tests.conftest import TEST_DB
from tests.support import Wallet
from tests.transport.staff_support import StaffServer, staff_server

Mongo = AsyncMongoClient[dict[str, Any]]
START = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture
async def staff(settings: Settings, mongo_client: Mongo) -> AsyncIterator[StaffServer]:
    async with staff_server(settings, mongo_client) as running:
        yield running


async def _match(
    a: str, b: str, minutes: int, status: MatchStatus, winner: str | None = None
) -> str:
    match = Match(
        game="tictactoe",
        players=[MatchPlayer(wallet_address=a, username="A"),
                 MatchPlayer(wallet_address=b, username="B")],
        wallets=[a, b], wager=10, status=status, seed=424242, seq=3,
        winner_wallet=winner, result="three_in_a_row" if winner else None,
        created_at=START + timedelta(minutes=minutes),
    )  # fmt: skip
    await match.insert()
    return str(match.id)


async def test_live_and_finished_matches_are_listed_apart_newest_first(
    staff: StaffServer,
) -> None:
    a, b, c = (Wallet().address for _ in range(3))
    old = await _match(a, b, 1, MatchStatus.COMPLETED, winner=a)
    aborted = await _match(b, c, 2, MatchStatus.ABORTED)
    live = await _match(a, c, 3, MatchStatus.ACTIVE)

    lives = (await staff.get("/admin/matches", "moderator", status="live")).json()
    finished = (await staff.get("/admin/matches", "analyst", status="finished")).json()
    every = (await staff.get("/admin/matches", "admin")).json()

    assert [m["id"] for m in lives["matches"]] == [live]
    assert [m["id"] for m in finished["matches"]] == [aborted, old]
    assert [m["id"] for m in every["matches"]] == [live, aborted, old]
    [first] = [m for m in every["matches"] if m["id"] == old]
    assert first["players"][0] == {
        "walletAddress": a, "username": "A", "player": f"/admin/users/{a}"
    }  # fmt: skip
    assert (first["status"], first["winnerWallet"], first["reason"]) == (
        "completed", a, "three_in_a_row"
    )  # fmt: skip
    assert first["moves"] == 3 and first["wager"] == 10
    assert "seed" not in first and "log" not in first and "state" not in first


async def test_a_players_matches_are_paged_with_the_next_cursor(staff: StaffServer) -> None:
    me, other = Wallet().address, Wallet().address
    mine = [await _match(me, other, minute, MatchStatus.COMPLETED) for minute in range(5)]
    await _match(other, Wallet().address, 10, MatchStatus.COMPLETED)  # not mine

    pages: list[list[str]] = []
    before = None
    while True:
        query = {"wallet": me, "limit": 2} | ({"before": before} if before else {})
        page = (await staff.get("/admin/matches", "moderator", **query)).json()
        pages.append([m["id"] for m in page["matches"]])
        before = page["next"]
        if before is None:
            break

    assert pages == [mine[4:2:-1], mine[2:0:-1], mine[0:1]]


async def test_the_finished_list_pages_too(staff: StaffServer) -> None:
    a, b = Wallet().address, Wallet().address
    ids = [await _match(a, b, minute, MatchStatus.COMPLETED) for minute in range(3)]

    first = (await staff.get("/admin/matches", "admin", status="finished", limit=2)).json()
    second = await staff.get(
        "/admin/matches", "admin", status="finished", limit=2, before=first["next"]
    )

    assert [m["id"] for m in first["matches"]] == [ids[2], ids[1]]
    assert [m["id"] for m in second.json()["matches"]] == [ids[0]]
    assert second.json()["next"] is None


@pytest.mark.parametrize(
    "query",
    [{"status": "over"}, {"limit": "0"}, {"limit": "101"}, {"limit": "many"},
     {"before": "nope"}, {"wallet": "W", "before": "6750c0ffee0000000000abcd"}],
)  # fmt: skip
async def test_a_bad_query_is_400(staff: StaffServer, query: dict[str, str]) -> None:
    response = await staff.get("/admin/matches", "admin", **query)

    assert response.status_code == 400 and response.json()["code"] == "invalid_message"


@pytest.mark.parametrize(
    ("status", "wallet", "bound", "index", "sorted_"),
    [(None, None, None, "_id_", False),
     ("finished", None, ObjectId(), "_id_", False),
     ("live", None, None, "sweep", True),  # sorts the live ones only
     ("finished", "W", START, "history", True)],  # sorts one player's only
)  # fmt: skip
async def test_the_lists_start_on_an_index(
    mongo_client: Mongo,
    status: str | None,
    wallet: str | None,
    bound: Any,
    index: str,
    sorted_: bool,
) -> None:
    for minute in range(30):
        await _match(Wallet().address, Wallet().address, minute, MatchStatus.COMPLETED)
    query, order, hint = listing(status, wallet, bound)
    found = mongo_client[TEST_DB].matches.find(query).sort(order, -1).hint(hint)

    plan = await found.limit(51).explain()

    text = str(plan["queryPlanner"]["winningPlan"])
    assert "COLLSCAN" not in text and f"'indexName': '{index}'" in text
    assert ("SORT" in text) == sorted_
