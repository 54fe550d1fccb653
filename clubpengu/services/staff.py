"""Read-only queries behind the staff console (docs/protocol.md §8): a player's full record,
finding players by name or wallet, the recent activity shown on the overview, and the
analysts' report over HTTP.

Nothing here writes. Each query starts on an index: users by wallet (also a wallet
prefix) and by lower-cased name (a name prefix), sessions and connection logs by wallet,
events by kind and time, transactions by time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.cursor import AsyncCursor
from pymongo.asynchronous.database import AsyncDatabase

from clubpengu.errors import InvalidMessage
from clubpengu.models import AuthSession, ConnectionLog, Event, Moderation, Puffle, User
from clubpengu.services import puffles
from clubpengu.services.moderation import public_sanction
from clubpengu.services.names import lower
from clubpengu.services.report import run_report, sections

RECENT_SESSIONS = 20
RECENT_CONNECTIONS = 20
MAX_QUERY = 44  # a whole wallet address
MAX_SEARCH_PAGE = 100
_BASE58 = frozenset("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz")
_FOUND = {
    "walletAddress": 1, "username": 1, "usernameLower": 1, "coins": 1, "isConnected": 1,
    "lastLoginAt": 1, "createdAt": 1, "moderation": 1,
}  # fmt: skip


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def moderation_state(moderation: Moderation | None, now: datetime) -> dict[str, Any]:
    """The ban and mute in force (each None when there is none)."""
    if moderation is None:
        return {"ban": None, "mute": None}
    return {
        "ban": public_sanction(moderation.ban, now),
        "mute": public_sanction(moderation.mute, now),
    }


def _profile(user: User, now: datetime) -> dict[str, Any]:
    return user.public_profile() | {
        "isConnected": user.is_connected,
        "currentPlayerId": user.current_player_id,
        "nodeId": user.node_id,
        "lastRoom": user.last_room,
        "lastLoginAt": iso(user.last_login_at),
        "lastLogoutAt": iso(user.last_logout_at),
        "lastActiveAt": iso(user.last_active_at),
        "createdAt": iso(user.created_at),
        "stats": user.stats.model_dump(by_alias=True),
        "migrationSource": user.migration_source,
        "moderation": moderation_state(user.moderation, now),
    }


def _session(session: AuthSession) -> dict[str, Any]:
    return {
        "sessionId": str(session.id),
        "role": session.role,
        "createdAt": iso(session.created_at),
        "expiresAt": iso(session.expires_at),
        "revokedAt": iso(session.revoked_at),
        "revokedReason": session.revoked_reason,
    }


def _connection(log: ConnectionLog) -> dict[str, Any]:
    return {
        "nodeId": log.node_id,
        "connectedAt": iso(log.connected_at),
        "disconnectedAt": iso(log.disconnected_at),
        "roomsVisited": log.rooms_visited,
        "closeCode": log.close_code,
        "clientVersion": log.client_version,
    }


async def player_record(wallet: str, now: datetime) -> dict[str, Any] | None:
    """Profile, presence, inventory, live puffles, recent sign-in sessions and recent
    connections of one wallet; None when there is no such player. The ledger is paged
    separately (`GET /admin/transactions?wallet=`)."""
    user = await User.find_one(User.wallet_address == wallet)
    if user is None:
        return None
    pets = await Puffle.find(
        Puffle.owner_wallet == wallet,
        Puffle.released_at == None,  # noqa: E711 (a query)
    ).to_list()
    sessions = (
        await AuthSession.find(AuthSession.wallet_address == wallet)
        .sort("-createdAt")
        .limit(RECENT_SESSIONS)
        .to_list()
    )
    connections = (
        await ConnectionLog.find(ConnectionLog.wallet_address == wallet)
        .sort("-connectedAt")
        .limit(RECENT_CONNECTIONS)
        .to_list()
    )
    return {
        "user": _profile(user, now),
        "puffles": [puffles.public(pet, now) for pet in pets],
        "sessions": [_session(s) for s in sessions],
        "connections": [_connection(c) for c in connections],
    }


def _prefix_range(prefix: str) -> dict[str, str]:
    """Every string that starts with `prefix`, as index bounds: [prefix, its successor)."""
    return {"$gte": prefix, "$lt": prefix[:-1] + chr(ord(prefix[-1]) + 1)}


def prefix_query(field: str, prefix: str, after: str = "") -> dict[str, Any]:
    """Documents whose `field` starts with `prefix` (and comes after `after`): one range
    of the field's index, walked in order by a sort on the field. A range matches no
    document without the field, so the sparse `usernameLower` index serves it as is (an
    added `$type` would make SecantusDB scan the collection)."""
    return {field: _prefix_range(prefix) | ({"$gt": after} if after else {})}


def prefix_search(
    users: AsyncCollection[dict[str, Any]], field: str, prefix: str, after: str = ""
) -> AsyncCursor[dict[str, Any]]:
    """The players whose `field` starts with `prefix`, in the field's order. No hint: the
    planners pick the field's index by themselves, and SecantusDB walks a hinted index
    whole where it walks only the range of one it picked."""
    return users.find(prefix_query(field, prefix, after), _FOUND).sort(field, 1)


def _found(doc: dict[str, Any], now: datetime) -> dict[str, Any]:
    moderation = Moderation.model_validate(doc["moderation"]) if doc.get("moderation") else None
    return {
        "walletAddress": doc["walletAddress"],
        "username": doc["username"],
        "coins": doc.get("coins", 0),
        "isConnected": doc.get("isConnected", False),
        "lastLoginAt": iso(doc.get("lastLoginAt")),
        "createdAt": iso(doc.get("createdAt")),
        "moderation": moderation_state(moderation, now),
    }


async def search_players(
    q: str, limit: int, before: str | None, now: datetime
) -> tuple[list[dict[str, Any]], str | None]:
    """Players whose wallet starts with `q` (exactly; only when `q` could be base58), then
    those whose name starts with it (any case), each in order; the page and the cursor of
    the next (`w:<wallet>` or `n:<name>`). Each part is one range of an index. Raises
    InvalidMessage. Names are unique (case-insensitively), so a name is a cursor."""
    text = q.strip()
    if not 0 < len(text) <= MAX_QUERY:
        raise InvalidMessage(f"q: 1 to {MAX_QUERY} characters")
    if not 1 <= limit <= MAX_SEARCH_PAGE:
        raise InvalidMessage(f"limit: between 1 and {MAX_SEARCH_PAGE}")
    phase, _, after = (before or "").partition(":")
    if before and phase not in ("w", "n"):
        raise InvalidMessage("before: not a cursor from `next`")
    users = User.get_pymongo_collection()
    wallet_like = set(text) <= _BASE58
    found: list[dict[str, Any]] = []
    if wallet_like and phase in ("", "w"):
        cursor = prefix_search(users, "walletAddress", text, after)
        found = await cursor.limit(limit + 1).to_list()
        if len(found) > limit:
            page = found[:limit]
            return [_found(doc, now) for doc in page], "w:" + page[-1]["walletAddress"]
        after = ""
    cursor = prefix_search(users, "usernameLower", lower(text), after if phase == "n" else "")
    slots = limit - len(found)
    named = await cursor.limit(slots + 1).to_list()
    more, named = len(named) > slots, named[:slots]
    # A player found by wallet is not listed again for their name (on any page).
    page = found + [d for d in named if not (wallet_like and d["walletAddress"].startswith(text))]
    following = "n:" + (named[-1]["usernameLower"] if named else "") if more else None
    return [_found(doc, now) for doc in page], following


async def recent_activity(
    db: AsyncDatabase[dict[str, Any]], since: datetime, now: datetime
) -> dict[str, Any]:
    """Since `since`: sign-ins that succeeded and failed, and coins created and destroyed by
    transaction type (the report's coin-flow pipeline over the window); and how many
    players are online on any node."""
    events = Event.get_pymongo_collection()
    window = {"$gte": since, "$lt": now}
    succeeded = await events.count_documents({"kind": "sign_in", "at": window})
    failed = await events.count_documents({"kind": "sign_in_failed", "at": window})
    flow = next(s for s in sections(since, now) if s.name == "coin_flow")
    cursor = await db[flow.collection].aggregate(flow.pipeline)
    online = await User.get_pymongo_collection().count_documents({"isConnected": True})
    return {
        "signIns": {"succeeded": succeeded, "failed": failed},
        "coinFlow": await cursor.to_list(),
        "playersOnline": online,
    }


async def report(
    db: AsyncDatabase[dict[str, Any]], start: datetime, end: datetime
) -> dict[str, list[dict[str, Any]]]:
    """The analysts' report (services/report.py) for [start, end)."""
    return await run_report(db, start, end)
