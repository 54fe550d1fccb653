"""What the User keeps of what the player has in other collections, so that a join needs
no look-up of its own (models/user.py): the walking puffle (`walkingPuffle`, kept by
services/puffles.py) and how many active matches the player is in (`activeMatches`,
kept by the match's start and settlement, services/matches/).

A database from before they were kept has users without them: `backfill_kept_on_user`
runs at start-up, before anyone joins, and fills them in from the puffles and matches
there. Once every user has them it costs one query (a scan of the users on SecantusDB,
which has no index for "field missing").
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

logger = logging.getLogger(__name__)
WALKING = "walkingPuffle"
ACTIVE_MATCHES = "activeMatches"


async def backfill_kept_on_user(db: AsyncDatabase[dict[str, Any]]) -> int:
    """Fill in `walkingPuffle` and `activeMatches` on the users that lack them; the number
    of users that had something to fill in (a walking puffle or an active match)."""
    users = db["users"]
    if await users.find_one({ACTIVE_MATCHES: {"$exists": False}}, {"_id": 1}) is None:
        return 0
    filled = 0
    walking = db["puffles"].find(
        {"walking": True, "releasedAt": None}, {"ownerWallet": 1, "name": 1, "color": 1}
    )
    async for puffle in walking:
        view = {"puffleId": str(puffle["_id"]), "name": puffle["name"], "color": puffle["color"]}
        changed = await users.update_one(
            {"walletAddress": puffle["ownerWallet"], WALKING: {"$exists": False}},
            {"$set": {WALKING: view}},
        )
        filled += changed.modified_count
    playing: Counter[str] = Counter()
    async for match in db["matches"].find({"status": "active"}, {"wallets": 1}):
        playing.update(match.get("wallets", []))
    for wallet, count in playing.items():
        changed = await users.update_one(
            {"walletAddress": wallet, ACTIVE_MATCHES: {"$exists": False}},
            {"$set": {ACTIVE_MATCHES: count}},
        )
        filled += changed.modified_count
    await users.update_many({WALKING: {"$exists": False}}, {"$set": {WALKING: None}})
    await users.update_many({ACTIVE_MATCHES: {"$exists": False}}, {"$set": {ACTIVE_MATCHES: 0}})
    logger.info("walking puffles and active matches kept on the users", extra={"filled": filled})
    return filled
