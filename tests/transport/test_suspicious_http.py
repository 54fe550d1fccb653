"""The collusion view (`GET /admin/economy/suspicious`) over matches really played, a held
save and the real ledger."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pymongo import AsyncMongoClient

from clubpengu.config import Settings
from clubpengu.progression.stamps import load_stamps
from clubpengu.services.collusion import (
    CLAIMS_INDEX,
    MATCHES_INDEX,
    pairs_pipeline,
    winners_pipeline,
)
from tests.conftest import TEST_DB
from tests.support import MovableClock, Wallet, enter, http_token, run_server
from tests.transport.test_migration_ws import FORGED
from tests.transport.test_wager_gates_ws import World, _win

Mongo = AsyncMongoClient[dict[str, Any]]
FIRST_WIN = next(stamp.reward for stamp in load_stamps() if stamp.id == "first_win")


async def test_staff_see_lopsided_pairs_wallets_fed_by_losers_and_held_saves(
    settings: Settings, mongo_client: Mongo
) -> None:
    analyst, player = Wallet(), Wallet()
    roles = settings.with_overrides(analyst_wallets=frozenset({analyst.address}))
    async with run_server(roles, mongo_client) as server, httpx.AsyncClient() as http:
        world = World(server, MovableClock())
        feeder, fed = await world.penguin(200), await world.penguin(100)
        even, odd = await world.penguin(200), await world.penguin(200)
        given_up = 0
        for _ in range(3):  # fed wins every time
            given_up += await _win(world, await world.start(feeder, fed, 50), fed)
        for winner in (even, odd, even):  # two to one: not lopsided enough
            await _win(world, await world.start(even, odd, 10), winner)
        holder, _, _ = await enter(server.ws_url, Wallet())
        held = await holder.call({"type": "migrate_data", "localData": FORGED})
        await world.close(feeder, fed, even, odd)
        await holder.close()
        assert await server.node.tasks.wait(within=10.0)  # the matches' stamps, awarded aside
        url = server.url + "/admin/economy/suspicious"
        bearer = {
            who: {"Authorization": f"Bearer {await http_token(server.url, wallet, http)}"}
            for who, wallet in (("analyst", analyst), ("player", player))
        }
        seen = await http.get(url, headers=bearer["analyst"])
        refused = await http.get(url, headers=bearer["player"])
        too_long = await http.get(url, params={"window": "60d"}, headers=bearer["analyst"])

    assert refused.status_code == 403 and too_long.status_code == 400
    assert seen.status_code == 200
    body = seen.json()
    [pair] = body["lopsidedPairs"]
    assert set(pair["wallets"]) == {feeder.wallet.address, fed.wallet.address}
    assert pair["towards"] == fed.wallet.address and pair["from"] == feeder.wallet.address
    assert pair["matches"] == 3 and pair["netCoins"] == 150
    assert pair["wins"] == {fed.wallet.address: 3, feeder.wallet.address: 0}
    assert f"/admin/users/{fed.wallet.address}" in pair["players"]
    funded = {row["walletAddress"]: row for row in body["fundedByOthers"]}
    # 150 won against 100 granted and, when a win was played out, the first win's stamp.
    assert set(funded) == {fed.wallet.address}
    row = funded[fed.wallet.address]
    other = 100 + (FIRST_WIN if given_up < 3 else 0)
    assert (row["coinsWon"], row["otherIncome"]) == (150, other)
    assert row["share"] == round(150 / (150 + other), 3)
    assert (row["wins"], row["givenUpWins"], row["opponents"]) == (3, given_up, 1)
    [claim] = body["heldMigrations"]
    assert claim["id"] == held["claimId"] and claim["status"] == "pending"
    assert claim["player"].endswith(claim["walletAddress"])


async def test_every_query_of_the_view_starts_on_an_index(mongo_client: Mongo) -> None:
    until = datetime.now(UTC)
    since = until - timedelta(days=7)
    db = mongo_client[TEST_DB]
    await db.matches.insert_many([
        {"createdAt": until - timedelta(hours=n), "game": "tictactoe", "status": "completed",
         "wager": n % 3, "wallets": ["a", "b"]} for n in range(300)
    ])  # fmt: skip
    plans = [
        await db.command("explain", {
            "aggregate": "matches", "pipeline": pipeline(since, until), "cursor": {},
            "hint": MATCHES_INDEX}, verbosity="queryPlanner")
        for pipeline in (pairs_pipeline, winners_pipeline)
    ]  # fmt: skip
    claims = await db.command("explain", {
        "find": "migration_claims", "filter": {"status": {"$in": ["pending", "rejected"]},
        "createdAt": {"$gte": since}}, "hint": CLAIMS_INDEX}, verbosity="queryPlanner")  # fmt: skip
    income = await db.command("explain", {
        "aggregate": "transactions", "cursor": {}, "hint": "by_wallet",
        "pipeline": [{"$match": {"walletAddress": {"$in": ["a"]}, "createdAt": {"$gte": since},
                                 "amount": {"$gt": 0}}}]}, verbosity="queryPlanner")  # fmt: skip

    for plan, index in zip([*plans, claims, income],
                           [MATCHES_INDEX, MATCHES_INDEX, CLAIMS_INDEX, "by_wallet"],
                           strict=True):  # fmt: skip
        assert "COLLSCAN" not in str(plan) and f"'indexName': '{index}'" in str(plan)
