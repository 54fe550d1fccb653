"""Bans, mutes and session revocations by staff (docs/moderation.md).

Each is one MongoDB transaction: the ban or mute in force on the User (`moderation`), the
entry of the player's moderation history (`moderation_actions`), the wallet's sessions
revoked for a ban, and the audit entry. Once it has committed, every node is told
(realtime/sessions.py): a banned wallet's connections get `kicked` BANNED and close
4003, a muted wallet's connections refuse `chat` from then on. The sign-in, the join and
`chat` check the state they already hold, so an expired sanction ends by itself.

Staff cannot be banned or muted (take the wallet off its staff list first); unbanning or
unmuting a player who is not banned or muted is a Conflict that changes nothing. Errors:
InvalidMessage (reason, note, duration), NotFound (no such player), Forbidden, Conflict.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from pymongo import AsyncMongoClient

from clubpengu.errors import Conflict, Forbidden, NotFound
from clubpengu.models import ModerationAction, Sanction, User
from clubpengu.models.base import utcnow
from clubpengu.realtime.moderation import Mute
from clubpengu.services.audit import AuditTrail, Staff, StaffAction
from clubpengu.services.auth import AuthService, short
from clubpengu.services.economy import EconomyService
from clubpengu.services.sanctions import (
    check_note,
    check_reason,
    connection_mute,
    in_force,
    parse_sanction_duration,
    until_text,
)
from clubpengu.services.transaction_runner import Session

logger = logging.getLogger(__name__)
HISTORY = 20  # the moderation history entries a player's record shows
Kind = Literal["ban", "mute"]


class LiveModeration(Protocol):
    """What the nodes do once a change has committed (realtime/sessions.py)."""

    async def ban(self, wallet: str) -> None: ...

    async def mute(self, wallet: str, mute: Mute | None) -> None: ...

    async def revoke(self, session_id: str, keep: str | None = None) -> None: ...


@dataclass(frozen=True)
class Outcome:
    """What a ban, unban, mute or unmute did; `apply` tells the nodes (after commit)."""

    wallet: str
    action: str
    until: datetime | None
    action_id: str
    revoked: int
    apply: Callable[[], Awaitable[None]]

    def public(self) -> dict[str, Any]:
        return {
            "walletAddress": self.wallet,
            "action": self.action,
            "until": until_text(self.until),
            "actionId": self.action_id,
            "sessionsRevoked": self.revoked,
        }


def public_sanction(sanction: Sanction | None, now: datetime) -> dict[str, Any] | None:
    """A ban or mute as the staff API shows it (None when none is in force)."""
    if sanction is None or not in_force(sanction, now):
        return None
    return {
        "until": until_text(sanction.until),
        "reason": sanction.reason,
        "by": sanction.by,
        "at": sanction.at.isoformat(),
    }


def public_action(doc: dict[str, Any]) -> dict[str, Any]:
    until = doc.get("until")
    return {
        "id": str(doc["_id"]),
        "action": doc["action"],
        "actor": doc["actor"],
        "role": doc.get("role"),
        "reason": doc["reason"],
        "note": doc.get("note"),
        "duration": doc.get("duration"),
        "until": until_text(until) if until else None,
        "reportId": doc.get("reportId"),
        "at": doc["at"].isoformat(),
    }


class ModerationService:
    """Bans, mutes and revocations; see the module docstring."""

    def __init__(
        self,
        client: AsyncMongoClient[dict[str, Any]],
        db_name: str,
        economy: EconomyService,
        audit: AuditTrail,
        auth: AuthService,
        live: LiveModeration,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.economy, self.audit, self.auth, self.live = economy, audit, auth, live
        self.users = client[db_name][User.Settings.name]
        self.actions = client[db_name][ModerationAction.Settings.name]
        self.clock = clock

    # --- the staff actions ----------------------------------------------------------------

    async def ban(
        self, staff: Staff, wallet: str, reason: Any, duration: Any, note: Any = None
    ) -> Outcome:
        """Ban `wallet` for `duration` ("24h", "7d" …; None: until unbanned)."""
        return await self._run(self.sanction_writes(staff, wallet, "ban", reason, duration, note))

    async def mute(
        self, staff: Staff, wallet: str, reason: Any, duration: Any, note: Any = None
    ) -> Outcome:
        return await self._run(self.sanction_writes(staff, wallet, "mute", reason, duration, note))

    async def unban(self, staff: Staff, wallet: str, reason: Any) -> Outcome:
        return await self._run(self.lift_writes(staff, wallet, "ban", reason))

    async def unmute(self, staff: Staff, wallet: str, reason: Any) -> Outcome:
        return await self._run(self.lift_writes(staff, wallet, "mute", reason))

    async def revoke_sessions(self, staff: Staff, wallet: str, reason: Any) -> int:
        """End every live session of `wallet`: its tokens stop working and its
        connections close with 4003 on every node. Audited; the number revoked."""
        text = check_reason(reason)

        async def writes(session: Session) -> list[str]:
            by = f"{staff.role}:{staff.actor}" if staff.role else staff.actor
            revoked = await self.auth.revoke_wallet(wallet, f"{by}: {text}", session)
            await self.audit.record(
                staff.actor, staff.role, StaffAction.SESSIONS_REVOKE, wallet, text,
                before={"liveSessions": len(revoked)}, after={"liveSessions": 0},
                session=session, source=staff.source,
            )  # fmt: skip
            return revoked

        revoked = await self.economy.run_transaction(writes)
        for session_id in revoked:
            await self.live.revoke(session_id)
        return len(revoked)

    async def history(self, wallet: str, limit: int = HISTORY) -> list[dict[str, Any]]:
        """The wallet's bans, unbans, mutes and unmutes, newest first."""
        cursor = self.actions.find({"walletAddress": wallet}).sort("at", -1).limit(limit)
        return [public_action(doc) async for doc in cursor]

    # --- the writes, for one transaction (the report queue adds its own) -------------------

    def sanction_writes(
        self,
        staff: Staff,
        wallet: str,
        kind: Kind,
        reason: Any,
        duration: Any,
        note: Any = None,
        *,
        report_id: str | None = None,
        audited: bool = True,
    ) -> Callable[[Session], Awaitable[Outcome]]:
        """The writes of a ban or mute, checked first (raises InvalidMessage before any
        write). `audited=False` leaves the audit entry to the caller's own action."""
        text, note_text = check_reason(reason), check_note(note)
        length = parse_sanction_duration(duration)
        self._check_target(wallet)

        async def writes(session: Session) -> Outcome:
            now = self.clock()
            until = now + length if length is not None else None
            stored, before = await self._current(session, wallet, kind, now)
            action = ModerationAction(
                wallet_address=wallet, action=kind, actor=staff.actor, role=staff.role,
                reason=text, note=note_text, duration=duration, until=until,
                report_id=report_id, at=now,
            )  # fmt: skip
            action_id = await self._insert(session, action)
            sanction = Sanction(
                until=until, reason=text, by=staff.actor, at=now, action_id=action_id
            )
            await self._set(session, wallet, stored, kind, sanction.model_dump(by_alias=True), now)
            revoked = await self._revoke_for_ban(session, staff, wallet, kind, text)
            if audited:
                await self.audit.record(
                    staff.actor, staff.role, StaffAction(kind), wallet, text,
                    before={kind: before}, after={kind: public_sanction(sanction, now)},
                    session=session, source=staff.source, duration=duration, note=note_text,
                    actionId=action_id,
                )  # fmt: skip
            return Outcome(
                wallet, kind, until, action_id, len(revoked), self._after(wallet, kind, sanction)
            )

        return writes

    def lift_writes(
        self, staff: Staff, wallet: str, kind: Kind, reason: Any
    ) -> Callable[[Session], Awaitable[Outcome]]:
        text = check_reason(reason)
        lifted = "unban" if kind == "ban" else "unmute"

        async def writes(session: Session) -> Outcome:
            now = self.clock()
            stored, before = await self._current(session, wallet, kind, now)
            if before is None:
                raise Conflict(f"This player is not {'banned' if kind == 'ban' else 'muted'}")
            action = ModerationAction(
                wallet_address=wallet, action=lifted, actor=staff.actor, role=staff.role,
                reason=text, at=now,
            )  # fmt: skip
            action_id = await self._insert(session, action)
            await self._set(session, wallet, stored, kind, None, now)
            await self.audit.record(
                staff.actor, staff.role, StaffAction(lifted), wallet, text,
                before={kind: before}, after={kind: None}, session=session,
                source=staff.source, actionId=action_id,
            )  # fmt: skip
            return Outcome(wallet, lifted, None, action_id, 0, self._after(wallet, kind, None))

        return writes

    # --- helpers --------------------------------------------------------------------------

    async def _run(self, writes: Callable[[Session], Awaitable[Outcome]]) -> Outcome:
        outcome = await self.economy.run_transaction(writes)
        await outcome.apply()
        logger.info("moderated", extra={"action": outcome.action, "wallet": short(outcome.wallet)})
        return outcome

    def _check_target(self, wallet: str) -> None:
        if self.auth.config.role_of(wallet) is not None:
            raise Forbidden("Staff cannot be banned or muted; take the wallet off its staff list")

    async def _current(
        self, session: Session, wallet: str, kind: Kind, now: datetime
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """The wallet's stored `moderation` (in this transaction's snapshot) and its ban or
        mute in force now, as the audit shows it. Raises NotFound."""
        doc = await self.users.find_one(
            {"walletAddress": wallet}, {"moderation": 1}, session=session
        )
        if doc is None:
            raise NotFound("No player with that wallet")
        stored = doc.get("moderation") or {}
        current = stored.get(kind)
        return stored, public_sanction(Sanction.model_validate(current), now) if current else None

    async def _insert(self, session: Session, action: ModerationAction) -> str:
        document = action.model_dump(by_alias=True, exclude={"id", "revision_id"})
        inserted = await self.actions.insert_one(document, session=session)
        return str(inserted.inserted_id)

    async def _set(
        self,
        session: Session,
        wallet: str,
        stored: dict[str, Any],
        kind: Kind,
        value: Any,
        now: datetime,
    ) -> None:
        # The whole object, read in this transaction (a concurrent change of the other
        # sanction is a write conflict, retried): most users have `moderation: null`,
        # under which a dotted `$set` cannot create a field.
        moderation = stored | {kind: value}
        await self.users.update_one(
            {"walletAddress": wallet},
            {"$set": {"moderation": moderation, "updatedAt": now}},
            session=session,
        )

    async def _revoke_for_ban(
        self, session: Session, staff: Staff, wallet: str, kind: Kind, reason: str
    ) -> list[str]:
        if kind != "ban":
            return []
        return await self.auth.revoke_wallet(wallet, f"banned by {staff.actor}: {reason}", session)

    def _after(
        self, wallet: str, kind: Kind, sanction: Sanction | None
    ) -> Callable[[], Awaitable[None]]:
        """What every node does once the change has committed."""

        async def apply() -> None:
            if kind == "ban" and sanction is not None:
                await self.live.ban(wallet)
            elif kind == "mute":
                await self.live.mute(wallet, connection_mute(sanction))

        return apply
