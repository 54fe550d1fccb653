"""Player reports and the staff's report queue (docs/moderation.md).

A signed-in player reports another player of their room instance: the report keeps the
reported player's wallet and name and the last 20 chat lines of that instance (the chat
log, services/chat_log.py). A player may send REPORT_RATE reports (default 5 an hour),
counted in the database so that the limit holds across nodes and restarts.

Staff resolve a report once: `dismiss`, or `mute`/`ban` of the reported wallet through the
moderation service. The report is claimed, the sanction written and the one audit entry
(`report.resolve`) recorded in one transaction; a second resolve is a Conflict.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from bson import ObjectId
from bson.errors import InvalidId
from pymongo import AsyncMongoClient, ReturnDocument

from clubpengu.config import Rate
from clubpengu.errors import Conflict, InvalidMessage, NotFound, RateLimited
from clubpengu.models import PlayerReport
from clubpengu.models.base import utcnow
from clubpengu.services.audit import AuditTrail, Staff, StaffAction
from clubpengu.services.chat_log import ChatLog
from clubpengu.services.economy import EconomyService
from clubpengu.services.moderation import ModerationService, Outcome
from clubpengu.services.sanctions import check_reason, until_text
from clubpengu.services.transaction_runner import Session

OPEN, RESOLVED = "open", "resolved"
MAX_PAGE = 100
DEFAULT_PAGE = 20
Status = Literal["open", "resolved"]
Resolution = Literal["dismiss", "mute", "ban"]


@dataclass(frozen=True)
class Party:
    """A player as the report names them: wallet (None for a guest), name, player id."""

    wallet: str | None
    username: str
    player_id: str


@dataclass(frozen=True)
class ReportPage:
    reports: list[dict[str, Any]]
    next: str | None


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def public_report(doc: dict[str, Any]) -> dict[str, Any]:
    """A report as the staff API shows it, with its chat context."""
    resolution = doc.get("resolution")
    if resolution is not None:
        resolution = {
            "action": resolution["action"], "reason": resolution["reason"],
            "duration": resolution.get("duration"), "until": until_text(resolution.get("until")),
            "by": resolution["by"], "role": resolution.get("role"),
            "at": _iso(resolution.get("at")),
        }  # fmt: skip
    return {
        "id": str(doc["_id"]),
        "status": doc["status"],
        "category": doc["category"],
        "text": doc.get("text"),
        "room": doc["room"],
        "createdAt": _iso(doc.get("createdAt")),
        "reporter": {"walletAddress": doc["reporterWallet"], "username": doc["reporterName"]},
        "reported": {
            "walletAddress": doc.get("targetWallet"),
            "username": doc["targetName"],
            "playerId": doc["targetPlayerId"],
        },
        "context": doc.get("context", []),
        "resolution": resolution,
    }


class ReportService:
    """Takes players' reports and resolves them; see the module docstring."""

    def __init__(
        self,
        client: AsyncMongoClient[dict[str, Any]],
        db_name: str,
        economy: EconomyService,
        moderation: ModerationService,
        audit: AuditTrail,
        chat_log: ChatLog,
        rate: Rate,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.reports = client[db_name][PlayerReport.Settings.name]
        self.economy, self.moderation, self.audit = economy, moderation, audit
        self.chat_log = chat_log
        self.rate = rate
        self.clock = clock

    async def report(
        self, reporter: Party, reported: Party, room: str, category: str, text: str | None
    ) -> str:
        """Keep a report of `reported` by `reporter` in `room` (an instance); its id.
        Raises InvalidMessage (reporting oneself) or RateLimited."""
        if reporter.player_id == reported.player_id or reporter.wallet == reported.wallet:
            raise InvalidMessage("playerId: you cannot report yourself")
        assert reporter.wallet is not None  # guests cannot report (the handler says so)
        now = self.clock()
        await self._check_rate(reporter.wallet, now)
        context = await self.chat_log.recent(room)
        document = PlayerReport(
            reporter_wallet=reporter.wallet, reporter_name=reporter.username,
            target_wallet=reported.wallet, target_name=reported.username,
            target_player_id=reported.player_id, room=room, category=category,
            text=(text or "").strip() or None, context=context, created_at=now,
        ).model_dump(by_alias=True, exclude={"id", "revision_id"})  # fmt: skip
        inserted = await self.reports.insert_one(document)
        return str(inserted.inserted_id)

    async def _check_rate(self, wallet: str, now: datetime) -> None:
        if not self.rate.enabled:
            return
        since = now - timedelta(seconds=self.rate.seconds)
        sent = await self.reports.count_documents(
            {"reporterWallet": wallet, "createdAt": {"$gt": since}}
        )
        if sent >= self.rate.count:
            raise RateLimited("Too many reports; try again later")

    async def page(
        self, status: str, *, before: str | None = None, limit: int = DEFAULT_PAGE
    ) -> ReportPage:
        """Reports of `status`, newest first; `before` is a `next` of an earlier page.
        Raises InvalidMessage."""
        if status not in (OPEN, RESOLVED):
            raise InvalidMessage("status: open or resolved")
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidMessage(f"limit: between 1 and {MAX_PAGE}")
        query: dict[str, Any] = {"status": status}
        if before:
            query["_id"] = {"$lt": _object_id(before, "before: not a cursor from `next`")}
        cursor = self.reports.find(query).sort("_id", -1).limit(limit + 1).hint("queue")
        docs = await cursor.to_list()
        reports = [public_report(doc) for doc in docs[:limit]]
        more = len(docs) > limit
        return ReportPage(reports, reports[-1]["id"] if more and reports else None)

    async def get(self, report_id: str) -> dict[str, Any]:
        doc = await self.reports.find_one({"_id": _object_id(report_id, "No such report")})
        if doc is None:
            raise NotFound("No such report")
        return public_report(doc)

    async def resolve(
        self, staff: Staff, report_id: str, action: str, reason: Any, duration: Any = None
    ) -> dict[str, Any]:
        """Close an open report: dismiss it, or mute or ban the reported wallet (for
        `duration`: "24h", "7d" …, None: until lifted). Raises NotFound, Conflict (already
        resolved), InvalidMessage (bad action, reason or duration; a guest to sanction),
        Forbidden (the reported wallet is staff). Nothing changes on any error."""
        oid = _object_id(report_id, "No such report")
        text = check_reason(reason)
        found = await self.reports.find_one({"_id": oid}, {"targetWallet": 1})
        if found is None:
            raise NotFound("No such report")
        target: str | None = found.get("targetWallet")
        sanction = self._sanction(staff, action, target, text, duration, report_id)

        async def writes(session: Session) -> tuple[dict[str, Any], Outcome | None]:
            now = self.clock()
            resolution = {
                "action": action, "reason": text, "duration": duration if sanction else None,
                "until": None, "by": staff.actor, "role": staff.role, "at": now,
            }  # fmt: skip
            claimed = await self.reports.find_one_and_update(
                {"_id": oid, "status": OPEN},
                {"$set": {"status": RESOLVED, "resolution": resolution}},
                return_document=ReturnDocument.AFTER, session=session,
            )  # fmt: skip
            if claimed is None:
                raise Conflict("This report is already resolved")
            outcome = await sanction(session) if sanction is not None else None
            if outcome is not None and outcome.until is not None:
                await self.reports.update_one(
                    {"_id": oid}, {"$set": {"resolution.until": outcome.until}}, session=session
                )
                claimed["resolution"]["until"] = outcome.until
            until = until_text(outcome.until) if outcome is not None else None
            await self.audit.record(
                staff.actor, staff.role, StaffAction.REPORT_RESOLVE, target or f"report:{oid}",
                text, before={"status": OPEN}, after={"status": RESOLVED, "action": action},
                session=session, source=staff.source, reportId=report_id,
                duration=resolution["duration"], until=until,
            )  # fmt: skip
            return claimed, outcome

        claimed, outcome = await self.economy.run_transaction(writes)
        if outcome is not None:
            await outcome.apply()
        return public_report(claimed)

    def _sanction(
        self,
        staff: Staff,
        action: str,
        target: str | None,
        reason: str,
        duration: Any,
        report_id: str,
    ) -> Callable[[Session], Any] | None:
        """The moderation writes of `action` (None for a dismissal), checked before the
        transaction starts."""
        if action == "dismiss":
            return None
        if action not in ("mute", "ban"):
            raise InvalidMessage("action: dismiss, mute or ban")
        if target is None:
            raise InvalidMessage("The reported player was a guest: there is nobody to " + action)
        kind: Literal["ban", "mute"] = "ban" if action == "ban" else "mute"
        return self.moderation.sanction_writes(
            staff, target, kind, reason, duration, report_id=report_id, audited=False
        )


def _object_id(text: str, problem: str) -> ObjectId:
    try:
        return ObjectId(text)
    except (InvalidId, TypeError):
        if problem.startswith("No such"):
            raise NotFound(problem) from None
        raise InvalidMessage(problem) from None
