"""Unique usernames, whatever their case: each User keeps `usernameLower`, under a unique
index (`username_unique`, sparse, models/user.py). A clash is a clear error where the player chose
the name; where they did not — the generated default, a save's name in a migration or a
bulk import, taken as a wish — the name gets a number (`Waddles` → `Waddles2`).

Before the unique index exists (a database from before it, or from before it replaced the
partial `username_lower`), `backfill_usernames` runs at start-up, before the indexes are
built: it names every user that has no name at all (a generated default, as a new player
gets; such a user could not even be read), sets `usernameLower` on every user that has no
name key and gives every duplicate after the oldest (by `createdAt`, then `_id`) a
numbered suffix, logging each rename. It is idempotent, and once the index exists it
costs one command. The partial index is dropped after the new one is built
(clubpengu/db.py), so names stay unique throughout.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from clubpengu.services.ledger import short_wallet
from clubpengu.services.names import default_username, lower, suffixed

logger = logging.getLogger(__name__)
USERNAME_INDEX = "username_unique"
# The partial index it replaced: dropped at start-up once the new one is built.
FORMER_USERNAME_INDEX = "username_lower"
USERNAME_FIELD = "usernameLower"
SUFFIX_CANDIDATES = 20  # numbered names asked about in one query
IN_CHUNK = 200
Users = AsyncCollection[dict[str, Any]]


def is_username_clash(error: DuplicateKeyError | BulkWriteError) -> bool:
    """Whether a duplicate key error is a username taken (not a wallet, not a key)."""
    details = error.details or {}
    errors = details.get("writeErrors") or [details]
    for found in errors:
        pattern = found.get("keyPattern") or found.get("keyValue") or {}
        message = str(found.get("errmsg", ""))
        if USERNAME_FIELD in pattern or any(
            name in message for name in (USERNAME_INDEX, FORMER_USERNAME_INDEX)
        ):
            return True
    return False


async def taken(users: Users, names: Sequence[str], session: Any = None) -> set[str]:
    """Which of `names` (lower-cased) some user already has."""
    keys = sorted({lower(name) for name in names})
    found: set[str] = set()
    for start in range(0, len(keys), IN_CHUNK):
        cursor = users.find(
            {USERNAME_FIELD: {"$in": keys[start : start + IN_CHUNK]}},
            {USERNAME_FIELD: 1, "_id": 0},
            session=session,
        )
        found |= {doc[USERNAME_FIELD] async for doc in cursor}
    return found


def _candidates(wish: str, first: int) -> list[str]:
    numbered = [suffixed(wish, n) for n in range(first, first + SUFFIX_CANDIDATES)]
    return ([wish] if first <= 2 else []) + numbered


async def free_username(users: Users, wish: str, avoid: frozenset[str] = frozenset()) -> str:
    """`wish` if nobody has it, else the first free `wish2`, `wish3` … (a random number
    after a while); never one of `avoid` (lower-cased)."""
    first = 2
    while True:
        candidates = _candidates(wish, first)
        busy = await taken(users, candidates) | avoid
        for candidate in candidates:
            if lower(candidate) not in busy:
                return candidate
        first += SUFFIX_CANDIDATES
        if first > 200:  # a very common wish: a random number is quicker to find free
            first = 1000 + secrets.randbelow(10**6)


async def free_usernames(users: Users, wishes: Sequence[str]) -> list[str]:
    """A free name for each wish, none twice (bulk import): one query per round."""
    given: list[str | None] = [None] * len(wishes)
    used: set[str] = set()
    pending = list(range(len(wishes)))
    attempt = 0
    while pending:
        candidates = {i: _candidate(wishes[i], attempt) for i in pending}
        busy = await taken(users, list(candidates.values()))
        still: list[int] = []
        for i, candidate in candidates.items():
            key = lower(candidate)
            if key in busy or key in used:
                still.append(i)
            else:
                given[i] = candidate
                used.add(key)
        pending = still
        attempt += 1
    return [name for name in given if name is not None]


def _candidate(wish: str, attempt: int) -> str:
    if attempt == 0:
        return wish
    if attempt <= SUFFIX_CANDIDATES:
        return suffixed(wish, attempt + 1)
    return suffixed(wish, 1000 + secrets.randbelow(10**6))


# --- the backfill -----------------------------------------------------------------------


async def backfill_usernames(db: AsyncDatabase[dict[str, Any]]) -> int:
    """Key every user's name and rename duplicates (see the module docstring), unless the
    unique index already exists; the number of users renamed."""
    users = db["users"]
    if USERNAME_INDEX in await users.index_information():
        return 0
    renamed = await _name_the_nameless(users)
    # Not only a missing key: the sparse index would key a null one, and refuse the second.
    await users.update_many(
        {USERNAME_FIELD: {"$not": {"$type": "string"}}},
        [{"$set": {USERNAME_FIELD: {"$toLower": "$username"}}}],
    )
    pipeline: list[dict[str, Any]] = [
        {"$group": {"_id": f"${USERNAME_FIELD}", "count": {"$sum": 1}}},
        {"$match": {"count": {"$gt": 1}}},
        {"$sort": {"_id": 1}},
    ]
    duplicates = [doc["_id"] async for doc in await users.aggregate(pipeline)]
    for key in duplicates:
        renamed += await _rename_duplicates(users, key)
    if renamed:
        logger.warning("duplicate usernames renamed", extra={"renamed": renamed})
    return renamed


async def _name_the_nameless(users: Users) -> int:
    """Give every user without a string `username` a generated default name, free."""
    query = {"username": {"$not": {"$type": "string"}}}
    nameless = await users.find(query, {"walletAddress": 1}).to_list()
    for member in nameless:
        new = await free_username(users, default_username())
        await users.update_one(
            {"_id": member["_id"]}, {"$set": {"username": new, USERNAME_FIELD: lower(new)}}
        )
        logger.warning(
            "user without a username named",
            extra={"wallet": short_wallet(str(member.get("walletAddress", ""))), "to": new},
        )
    return len(nameless)


async def _rename_duplicates(users: Users, key: str) -> int:
    cursor = users.find({USERNAME_FIELD: key}, {"username": 1, "walletAddress": 1})
    members = await cursor.sort([("createdAt", 1), ("_id", 1)]).to_list()
    for member in members[1:]:  # the oldest keeps its name
        new = await free_username(users, member["username"])
        await users.update_one(
            {"_id": member["_id"]}, {"$set": {"username": new, USERNAME_FIELD: lower(new)}}
        )
        logger.warning(
            "duplicate username renamed",
            extra={
                "wallet": short_wallet(str(member.get("walletAddress", ""))),
                "from": member["username"],
                "to": new,
            },
        )
    return len(members) - 1
