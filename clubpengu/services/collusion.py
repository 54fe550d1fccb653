"""The collusion view for staff (`GET /admin/economy/suspicious`): what a farm of wallets
leaves behind, over a bounded window, read with aggregation pipelines that start on an
index. Nothing here writes, and nothing here decides: it points staff at players.

- **Lopsided pairs**: two wallets that played at least MIN_PAIR_MATCHES wagered matches
  together, one of them winning at least LOPSIDED_SHARE of them (matches `by_created`).
- **Funded by others' losses**: wallets whose wager winnings (the losers' stakes) are at
  least FUNDED_SHARE of everything they received in the window (matches `by_created`,
  then their own ledger entries on `by_wallet`); how many of those wins the other player
  gave up (forfeit, timeout, disconnect), and from how many opponents.
- **Held and rejected migrations**: claims waiting for staff or refused
  (migration_claims `by_status`).
Every row links its wallets to the player's record (`/admin/users/<wallet>`).

Each query names its index (`hint`): SecantusDB's planner scans the whole collection when
a date range comes with a condition on a field outside the index (`status`, `wager`), or
with an `$in` of statuses, although the range alone would use the index (explain,
tested); the hint is what MongoDB would pick anyway.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from clubpengu.models import ClaimStatus, Match, MigrationClaim, Transaction

MIN_PAIR_MATCHES = 3
LOPSIDED_SHARE = 0.8
FUNDED_SHARE = 0.5
LIMIT = 50
GIVEN_UP = ["forfeit", "timeout", "disconnect", "abandoned"]
MATCHES_INDEX, CLAIMS_INDEX = "by_created", "by_status"
MATCH_TYPES = ["match_escrow", "match_payout", "match_refund"]


def player(wallet: str) -> str:
    return f"/admin/users/{wallet}"


def _wagered(since: datetime, until: datetime) -> dict[str, Any]:
    return {
        "$match": {
            "createdAt": {"$gte": since, "$lt": until},
            "status": "completed",
            "wager": {"$gt": 0},
        }
    }


def _paid(wallet: Any) -> dict[str, Any]:
    """1 when `wallet` won a match that paid out (not a draw, not a refund), else 0."""
    won = {"$and": [{"$eq": ["$winnerWallet", wallet]}, {"$ne": ["$stakesRefunded", True]}]}
    return {"$cond": [won, 1, 0]}


def pairs_pipeline(since: datetime, until: datetime) -> list[dict[str, Any]]:
    first, second = {"$arrayElemAt": ["$wallets", 0]}, {"$arrayElemAt": ["$wallets", 1]}
    lower = {"$cond": [{"$lt": [first, second]}, first, second]}
    upper = {"$cond": [{"$lt": [first, second]}, second, first]}
    return [
        _wagered(since, until),
        {"$project": {"a": lower, "b": upper, "winnerWallet": 1, "wager": 1,
                      "stakesRefunded": 1}},
        {"$group": {
            "_id": {"a": "$a", "b": "$b"},
            "matches": {"$sum": 1},
            "winsA": {"$sum": _paid("$a")},
            "winsB": {"$sum": _paid("$b")},
            "coinsToA": {"$sum": {"$multiply": [_paid("$a"), "$wager"]}},
            "coinsToB": {"$sum": {"$multiply": [_paid("$b"), "$wager"]}},
        }},
        {"$match": {"matches": {"$gte": MIN_PAIR_MATCHES}}},
        {"$addFields": {"top": {"$max": ["$winsA", "$winsB"]},
                        "net": {"$abs": {"$subtract": ["$coinsToA", "$coinsToB"]}}}},
        {"$match": {"$expr": {"$gte": ["$top", {"$multiply": ["$matches", LOPSIDED_SHARE]}]}}},
        {"$sort": {"net": -1}},
        {"$limit": LIMIT},
    ]  # fmt: skip


def winners_pipeline(since: datetime, until: datetime) -> list[dict[str, Any]]:
    loser = {
        "$cond": [
            {"$eq": [{"$arrayElemAt": ["$wallets", 0]}, "$winnerWallet"]},
            {"$arrayElemAt": ["$wallets", 1]},
            {"$arrayElemAt": ["$wallets", 0]},
        ]
    }
    return [
        _wagered(since, until),
        {"$match": {"winnerWallet": {"$ne": None}, "stakesRefunded": {"$ne": True}}},
        {"$group": {
            "_id": "$winnerWallet",
            "wins": {"$sum": 1},
            "coinsWon": {"$sum": "$wager"},
            "givenUp": {"$sum": {"$cond": [{"$in": ["$result", GIVEN_UP]}, 1, 0]}},
            "opponents": {"$addToSet": loser},
        }},
        {"$sort": {"coinsWon": -1}},
        {"$limit": 2 * LIMIT},
    ]  # fmt: skip


def _pair(row: dict[str, Any]) -> dict[str, Any]:
    a, b = row["_id"]["a"], row["_id"]["b"]
    winner, loser = (a, b) if row["coinsToA"] >= row["coinsToB"] else (b, a)
    return {
        "wallets": [a, b],
        "players": [player(a), player(b)],
        "matches": row["matches"],
        "wins": {a: row["winsA"], b: row["winsB"]},
        "netCoins": row["net"],
        "towards": winner,
        "from": loser,
    }


async def _other_income(
    db: AsyncDatabase[dict[str, Any]], wallets: list[str], since: datetime, until: datetime
) -> dict[str, int]:
    """What each wallet received in the window other than from matches."""
    cursor = await db[Transaction.Settings.name].aggregate([
        {"$match": {"walletAddress": {"$in": wallets}, "createdAt": {"$gte": since, "$lt": until},
                    "amount": {"$gt": 0}, "type": {"$nin": MATCH_TYPES}}},
        {"$group": {"_id": "$walletAddress", "coins": {"$sum": "$amount"}}},
    ], hint="by_wallet")  # fmt: skip
    return {row["_id"]: int(row["coins"]) async for row in cursor}


async def funded_wallets(
    db: AsyncDatabase[dict[str, Any]], since: datetime, until: datetime
) -> list[dict[str, Any]]:
    cursor = await db[Match.Settings.name].aggregate(
        winners_pipeline(since, until), hint=MATCHES_INDEX
    )
    winners = await cursor.to_list()
    other = await _other_income(db, [row["_id"] for row in winners], since, until)
    found = []
    for row in winners:
        wallet, won = row["_id"], int(row["coinsWon"])
        share = won / (won + other.get(wallet, 0))
        if share >= FUNDED_SHARE:
            found.append({
                "walletAddress": wallet, "player": player(wallet), "coinsWon": won,
                "otherIncome": other.get(wallet, 0), "share": round(share, 3),
                "wins": row["wins"], "givenUpWins": row["givenUp"],
                "opponents": len(row["opponents"]),
            })  # fmt: skip
    return found[:LIMIT]


async def held_migrations(
    db: AsyncDatabase[dict[str, Any]], since: datetime, until: datetime
) -> list[dict[str, Any]]:
    statuses = [ClaimStatus.PENDING.value, ClaimStatus.REJECTED.value]
    query = {"status": {"$in": statuses}, "createdAt": {"$gte": since, "$lt": until}}
    cursor = db[MigrationClaim.Settings.name].find(query).sort("createdAt", -1)
    found = await cursor.hint(CLAIMS_INDEX).limit(LIMIT).to_list()
    claims = [MigrationClaim.model_validate(doc) for doc in found]
    return [
        {
            "id": str(claim.id),
            "walletAddress": claim.wallet_address,
            "player": player(claim.wallet_address),
            "status": str(claim.status),
            "coins": claim.coins,
            "held": claim.held,
            "reason": claim.reason,
            "createdAt": claim.created_at.isoformat(),
        }
        for claim in claims
    ]


async def suspicious(
    db: AsyncDatabase[dict[str, Any]], since: datetime, until: datetime
) -> dict[str, Any]:
    """The three lists over [since, until)."""
    matches = db[Match.Settings.name]
    pairs = await (
        await matches.aggregate(pairs_pipeline(since, until), hint=MATCHES_INDEX)
    ).to_list()
    return {
        "lopsidedPairs": [_pair(row) for row in pairs],
        "fundedByOthers": await funded_wallets(db, since, until),
        "heldMigrations": await held_migrations(db, since, until),
    }
