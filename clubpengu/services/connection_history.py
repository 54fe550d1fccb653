"""A player's connection history as staff read it (the console's devices and connections):
pages of connections, newest first, and the devices they came from. Read-only; each query
walks the `history` index (wallet, connectedAt)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId

from clubpengu.errors import InvalidMessage
from clubpengu.models import ConnectionLog

MAX_PAGE = 200
DEVICE_SCAN = 5000  # the newest connections the devices view is built from


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def public_connection(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(doc["_id"]),
        "nodeId": doc.get("nodeId"),
        "connectedAt": _iso(doc.get("connectedAt")),
        "signedInAt": _iso(doc.get("signedInAt")),
        "joinedAt": _iso(doc.get("joinedAt")),
        "disconnectedAt": _iso(doc.get("disconnectedAt")),
        "closedBy": doc.get("closedBy"),
        "closeCode": doc.get("closeCode"),
        "roomsVisited": doc.get("roomsVisited", []),
        "clientVersion": doc.get("clientVersion"),
        "deviceHash": doc.get("deviceHash"),
        "userAgent": doc.get("userAgent"),
        "ipHash": doc.get("ipHash"),
    }


async def connections(
    wallet: str, limit: int, before: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the wallet's connections, newest first, and the cursor of the next."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidMessage(f"limit: between 1 and {MAX_PAGE}")
    query: dict[str, Any] = {"walletAddress": wallet}
    if before:
        try:
            query["_id"] = {"$lt": ObjectId(before)}
        except InvalidId:
            raise InvalidMessage("before: not a cursor from `next`") from None
    cursor = ConnectionLog.get_pymongo_collection().find(query).sort("_id", -1).limit(limit + 1)
    docs = await cursor.to_list()
    page = [public_connection(doc) for doc in docs[:limit]]
    return page, page[-1]["id"] if len(docs) > limit and page else None


async def devices(wallet: str) -> list[dict[str, Any]]:
    """The wallet's devices, most recently seen first: each hashed device id (None: the
    connections that sent none), its connections and reconnects (its connections after the
    first), when it was first and last seen, its user agents and addresses (hashed)."""
    cursor = (
        ConnectionLog.get_pymongo_collection()
        .find({"walletAddress": wallet})
        .sort("connectedAt", -1)
        .limit(DEVICE_SCAN)
    )
    seen: dict[str | None, dict[str, Any]] = {}
    async for doc in cursor:
        device = seen.get(doc.get("deviceHash"))
        if device is None:
            device = seen[doc.get("deviceHash")] = {
                "deviceHash": doc.get("deviceHash"),
                "connections": 0,
                "firstSeen": doc.get("connectedAt"),
                "lastSeen": doc.get("connectedAt"),
                "userAgents": [],
                "ipHashes": [],
                "open": 0,
            }
        device["connections"] += 1
        device["firstSeen"] = doc.get("connectedAt")
        if doc.get("disconnectedAt") is None:
            device["open"] += 1
        for key, value in (("userAgents", doc.get("userAgent")), ("ipHashes", doc.get("ipHash"))):
            if value is not None and value not in device[key]:
                device[key].append(value)
    return [
        device
        | {
            "reconnects": device["connections"] - 1,
            "firstSeen": _iso(device["firstSeen"]),
            "lastSeen": _iso(device["lastSeen"]),
        }
        for device in seen.values()
    ]
