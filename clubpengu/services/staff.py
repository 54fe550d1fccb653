"""Read-only queries behind the staff console (docs/protocol.md §8): a player's full record,
the recent activity shown on the overview, and the analysts' report over HTTP.

Nothing here writes. Each query starts on an index: users by wallet, sessions and
connection logs by wallet, events by kind and time, transactions by time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from clubpengu.models import AuthSession, ConnectionLog, Event, Puffle, User
from clubpengu.services import puffles
from clubpengu.services.report import run_report, sections

RECENT_SESSIONS = 20
RECENT_CONNECTIONS = 20


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _profile(user: User) -> dict[str, Any]:
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
        "user": _profile(user),
        "puffles": [puffles.public(pet, now) for pet in pets],
        "sessions": [_session(s) for s in sessions],
        "connections": [_connection(c) for c in connections],
    }


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
