"""The staff console's match list: live matches, finished ones, and one player's, newest
first, a page at a time (docs/protocol.md §8). Read-only.

The cursor (`before`) is always the id of the last match of the previous page. Each list
starts on an index (`listing` names it; SecantusDB's planner would otherwise sort every
finished match for each page): finished or all matches walk `_id` backwards (ids grow with
creation time), reading only the page; the live ones are found on the `sweep` index and
sorted (they are few: at most one a pair of players online); a player's on the `history`
index (`wallets`, `createdAt`), sorted among that player's own matches, the cursor's
`createdAt` as the bound — a wallet plays one match at a time, so two of its matches never
share a creation time.
"""

from __future__ import annotations

from typing import Any, Literal

from bson import ObjectId
from bson.errors import InvalidId

from clubpengu.errors import InvalidMessage
from clubpengu.models import Match, MatchStatus

Status = Literal["live", "finished"]
STATUSES: dict[str, dict[str, Any]] = {
    "live": {"status": MatchStatus.ACTIVE.value},
    "finished": {"status": {"$in": [MatchStatus.COMPLETED.value, MatchStatus.ABORTED.value]}},
}
MAX_PAGE = 100
_FIELDS = {"log": 0, "state": 0, "seed": 0}  # the seed deals the cards: never shown


def _cursor(before: str | None) -> ObjectId | None:
    if not before:
        return None
    try:
        return ObjectId(before)
    except (InvalidId, TypeError):
        raise InvalidMessage("before: not a cursor from `next`") from None


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def public_match(doc: dict[str, Any]) -> dict[str, Any]:
    """A match as the console lists it: who, what, how it stands or ended, links to the
    players."""
    return {
        "id": str(doc["_id"]),
        "game": doc["game"],
        "status": doc["status"],
        "wager": doc.get("wager", 0),
        "players": [
            {
                "walletAddress": p["walletAddress"],
                "username": p["username"],
                "player": f"/admin/users/{p['walletAddress']}",
            }
            for p in doc["players"]
        ],
        "turn": doc.get("turn"),
        "moves": doc.get("seq", 0),
        "winnerWallet": doc.get("winnerWallet"),
        "reason": doc.get("result"),
        "stakesRefunded": doc.get("stakesRefunded", False),
        "room": doc.get("room"),
        "createdAt": _iso(doc.get("createdAt")),
        "endedAt": _iso(doc.get("endedAt")),
    }


async def match_page(
    status: str | None, wallet: str | None, before: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of matches and the cursor of the next one (None: that was the last).
    `status` is `live`, `finished` or None (both)."""
    if status is not None and status not in STATUSES:
        raise InvalidMessage("status: live or finished")
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidMessage(f"limit: between 1 and {MAX_PAGE}")
    cursor = _cursor(before)
    collection = Match.get_pymongo_collection()
    bound: Any = cursor
    if wallet and cursor is not None:
        last = await collection.find_one({"_id": cursor}, {"createdAt": 1})
        if last is None:
            raise InvalidMessage("before: not a cursor from `next`")
        bound = last["createdAt"]
    query, order, index = listing(status, wallet, bound)
    found = collection.find(query, _FIELDS).sort(order, -1).hint(index)
    docs = await found.limit(limit + 1).to_list()
    page = [public_match(doc) for doc in docs[:limit]]
    following = page[-1]["id"] if len(docs) > limit else None
    return page, following


def listing(status: str | None, wallet: str | None, bound: Any) -> tuple[dict[str, Any], str, str]:
    """The query, the field sorted on (newest first) and the index to walk, for matches
    before `bound` (a match id; with a wallet, a creation time; None: from the newest)."""
    query: dict[str, Any] = dict(STATUSES[status]) if status else {}
    if wallet:
        query["wallets"] = wallet
        if bound is not None:
            query["createdAt"] = {"$lt": bound}
        return query, "createdAt", "history"
    if bound is not None:
        query["_id"] = {"$lt": bound}
    return query, "_id", "sweep" if status == "live" else "_id_"
