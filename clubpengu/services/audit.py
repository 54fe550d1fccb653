"""The audit trail of staff actions: one service, one collection (`audit_logs`).

Every staff action writes exactly one entry with `AuditTrail.record`: who acted (`actor`)
and in which role (read from the configuration at that moment, never from a token),
what they did (`action`), to what (`target`: a wallet, `promo:<CODE>`, `report:<id>`),
why (`reason`), and the state before and after where the action changes one. Where the
action is a database change, pass its transaction's `session`: the entry then commits or
aborts with the change it describes, so the trail never claims a change that did not
happen nor misses one that did.

    async def writes(session: Session) -> None:
        await promos.update_one({...}, {...}, session=session)
        await audit.record(
            admin_wallet, "admin", StaffAction.PROMO_UPDATE, "promo:SUMMER",
            "leaked on a forum", before={"active": True}, after={"active": False},
            session=session,
        )

    await economy.run_transaction(writes)

Actions other parts add (a migration approval, say) use their own name: `action` is any
text of 1-64 characters; the ones below are this module's. Extra keyword arguments of
`record` land in `details`. Entries never expire. `page` reads them back newest first,
filtered by actor, target or action, each filter on its own index.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from pymongo import AsyncMongoClient

from clubpengu.errors import InvalidMessage
from clubpengu.models import AuditLog
from clubpengu.models.base import utcnow
from clubpengu.services.auth import decode_wallet, short
from clubpengu.services.transaction_runner import Session

logger = logging.getLogger(__name__)

MAX_ACTION = 64
MAX_PAGE = 200
DEFAULT_PAGE = 50
# The index GET /admin/audit walks for each filter (models/event.py).
_PAGE_INDEX = {"actor": "by_actor_page", "target": "by_target_page", "action": "by_action_page"}
STAFF_API = "staff_api"  # the `source` of actions taken over the staff HTTP API
CLI = "cli"  # ... and with `clubpengu admin`


class StaffAction(StrEnum):
    """The staff actions this server audits (docs/moderation.md lists them)."""

    COINS_ADJUST = "coins.adjust"
    SESSIONS_REVOKE = "sessions.revoke"
    BAN = "ban"
    UNBAN = "unban"
    MUTE = "mute"
    UNMUTE = "unmute"
    REPORT_RESOLVE = "report.resolve"
    PROMO_CREATE = "promo.create"
    PROMO_UPDATE = "promo.update"
    MIGRATION_APPROVE = "migration.approve"
    MIGRATION_REJECT = "migration.reject"


@dataclass(frozen=True)
class Staff:
    """Who acts: a staff wallet (or `cli:<user>`), the role the configuration gives it at
    this moment, and where the action came from (an entry's `source`)."""

    actor: str
    role: str | None
    source: str = STAFF_API


@dataclass(frozen=True)
class AuditPage:
    """One page of entries, newest first; `next` is the `before` of the next page."""

    entries: list[dict[str, Any]]
    next: str | None


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def public_entry(doc: dict[str, Any]) -> dict[str, Any]:
    """An entry as the staff API shows it."""
    return {
        "id": str(doc["_id"]),
        "at": _iso(doc.get("at")),
        "actor": doc.get("actor"),
        "role": doc.get("role"),
        "action": doc.get("action"),
        "target": doc.get("target") or doc.get("walletAddress"),
        "reason": doc.get("reason"),
        "before": doc.get("before"),
        "after": doc.get("after"),
        "source": doc.get("source"),
        "details": doc.get("details") or {},
    }


def page_query(
    *,
    actor: str | None = None,
    target: str | None = None,
    action: str | None = None,
    before: str | None = None,
) -> tuple[dict[str, Any], str | None]:
    """The filter of a page (sorted by _id, newest first) and the index it walks, named so
    that the planner never picks one that needs a sort of more entries than the filter
    matches. Raises InvalidMessage for a bad cursor."""
    query: dict[str, Any] = {}
    hint: str | None = None
    for field, value in (("action", action), ("target", target), ("actor", actor)):
        if value:
            query[field] = value
            hint = _PAGE_INDEX[field]  # the last named: the most selective one
    if before:
        try:
            query["_id"] = {"$lt": ObjectId(before)}
        except InvalidId:
            raise InvalidMessage("before: not a cursor from `next`") from None
    return query, hint


class AuditTrail:
    """Writes and reads the audit trail; see the module docstring."""

    def __init__(
        self,
        client: AsyncMongoClient[dict[str, Any]],
        db_name: str,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.entries = client[db_name][AuditLog.Settings.name]
        self.clock = clock

    def document(
        self,
        actor: str,
        role: str | None,
        action: str,
        target: str | None,
        reason: str | None,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
        *,
        source: str = STAFF_API,
        **details: Any,
    ) -> dict[str, Any]:
        """The entry `record` writes, as a document (for a caller that inserts many at
        once). Raises InvalidMessage for an empty or overlong action or actor."""
        if not 0 < len(action) <= MAX_ACTION:
            raise InvalidMessage(f"an audit action is 1 to {MAX_ACTION} characters")
        if not actor:
            raise InvalidMessage("an audit entry needs an actor")
        wallet = target if target is not None and decode_wallet(target) is not None else None
        document: dict[str, Any] = AuditLog(
            action=action, actor=actor, role=role, target=target, wallet_address=wallet,
            reason=reason, before=before, after=after, source=source, at=self.clock(),
            details=details,
        ).model_dump(by_alias=True, exclude={"id", "revision_id"})  # fmt: skip
        return document

    async def record(
        self,
        actor: str,
        role: str | None,
        action: str,
        target: str | None,
        reason: str | None,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
        *,
        session: Session | None = None,
        source: str = STAFF_API,
        **details: Any,
    ) -> str:
        """Write one entry (inside `session`'s transaction when given); its id."""
        document = self.document(
            actor, role, action, target, reason, before, after, source=source, **details
        )
        inserted = await self.entries.insert_one(document, session=session)
        logger.info(
            "audited",
            extra={"action": action, "actor": short(actor), "role": role, "source": source},
        )
        return str(inserted.inserted_id)

    async def page(
        self,
        *,
        actor: str | None = None,
        target: str | None = None,
        action: str | None = None,
        before: str | None = None,
        limit: int = DEFAULT_PAGE,
    ) -> AuditPage:
        """Entries newest first, filtered by any of actor, target and action (exact
        values); `before` is a `next` of an earlier page. Raises InvalidMessage."""
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidMessage(f"limit: between 1 and {MAX_PAGE}")
        query, hint = page_query(actor=actor, target=target, action=action, before=before)
        cursor = self.entries.find(query).sort("_id", -1).limit(limit + 1)
        docs = await (cursor.hint(hint) if hint else cursor).to_list()
        entries = [public_entry(doc) for doc in docs[:limit]]
        more = len(docs) > limit
        return AuditPage(entries, entries[-1]["id"] if more and entries else None)
