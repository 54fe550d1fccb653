"""The audit record of a staff decision (DESIGN.md invariant 7: who, role, what, target,
reason, before/after), in `audit_logs`.

One function with the signature of the staff audit service's `record`, so that the code
that calls it does not change when that service takes its place: until then it writes the
same AuditLog document itself, inside the caller's transaction when given its session.
"""

from __future__ import annotations

from typing import Any

from clubpengu.models import AuditLog
from clubpengu.models.base import utcnow
from clubpengu.services.transaction_runner import Session


async def record(
    actor: str,
    role: str | None,
    action: str,
    target: str,
    reason: str,
    before: dict[str, Any],
    after: dict[str, Any],
    *,
    session: Session | None = None,
) -> None:
    document = AuditLog(
        action=action,
        actor=actor,
        wallet_address=target,
        source="staff",
        at=utcnow(),
        details={"role": role, "reason": reason, "before": before, "after": after},
    ).model_dump(by_alias=True, exclude={"id", "revision_id"})
    await AuditLog.get_pymongo_collection().insert_one(document, session=session)
