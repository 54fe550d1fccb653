"""Coin adjustments by staff (the admin API and `clubpengu admin adjust-coins`): a ledger
entry of type `admin_adjustment` and its audit entry, in one transaction.

The ledger entry names the actor as before (`admin:<wallet>`, `admin:cli:<user>`); the
audit entry records the balance before and after. A repeated idempotency key changes
nothing and writes no second audit entry (the transaction that would have written it
aborts on the key).
"""

from __future__ import annotations

from clubpengu.services.audit import AuditTrail, Staff, StaffAction
from clubpengu.services.economy import EconomyService
from clubpengu.services.ledger import LedgerResult
from clubpengu.services.sanctions import check_reason
from clubpengu.services.transaction_runner import Session

ADMIN_ADJUSTMENT = "admin_adjustment"


async def adjust_coins(
    economy: EconomyService,
    audit: AuditTrail,
    staff: Staff,
    wallet: str,
    amount: int,
    reason: str,
    idempotency_key: str,
    *,
    ledger_actor: str,
    proof: dict[str, str],
) -> LedgerResult:
    """Add `amount` coins to `wallet` (negative: take them). Raises what
    EconomyService.apply raises, and InvalidMessage for a reason that is not 3-200
    characters."""
    text = check_reason(reason)

    async def audited(session: Session) -> None:
        entry = await economy.transactions.find_one(
            {"idempotencyKey": idempotency_key}, {"balanceAfter": 1}, session=session
        )
        assert entry is not None  # written just before, in this transaction
        after = int(entry["balanceAfter"])
        await audit.record(
            staff.actor, staff.role, StaffAction.COINS_ADJUST, wallet, text,
            before={"coins": after - amount}, after={"coins": after}, session=session,
            source=staff.source, amount=amount, idempotencyKey=idempotency_key,
            transactionId=str(entry["_id"]),
        )  # fmt: skip

    return await economy.apply(
        wallet, amount, ADMIN_ADJUSTMENT,
        idempotency_key=idempotency_key, actor=ledger_actor, reason=text, proof=proof,
        extra_writes=audited,
    )  # fmt: skip
