"""Staff review of held migration claims (services/migration.py holds them).

- Approving credits the claim's coins through the ledger (type `migration`, key
  `migration:<wallet>`) and applies its unlocks, stamps and puffles (the look is left as
  the player has it now), in one transaction with the claim's pending→approved update and
  the audit record. Approving twice applies once: the second answers the first result.
- Rejecting moves the claim to `rejected` and credits nothing; the wallet cannot bring
  another save.
- Either way the player's `migrationClaim` shows the outcome (`user.migration` at the next
  sign-in) and a live connection is told at once (`MigrationReviewed`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId

from clubpengu.errors import Conflict, InvalidMessage, NotFound
from clubpengu.models import ClaimStatus, MigrationClaim, Puffle, User
from clubpengu.models.base import utcnow
from clubpengu.models.user import MigrationOutcome
from clubpengu.services.audit import AuditTrail, StaffAction
from clubpengu.services.economy import EconomyService
from clubpengu.services.migration import SOURCE, puffle_documents, user_update
from clubpengu.services.migration_keys import MIGRATION, generation, migration_key
from clubpengu.services.migration_plan import MigrationPlan
from clubpengu.services.notices import MigrationReviewed, Notify
from clubpengu.services.transaction_runner import Session
from clubpengu.services.usernames import free_username

MAX_PAGE = 200


@dataclass(frozen=True)
class Decision:
    claim: dict[str, Any]  # the claim as staff see it (`public`)
    replayed: bool  # the same decision was made before; nothing changed now


def public(claim: MigrationClaim) -> dict[str, Any]:
    """A claim for the staff API and console, with the link to its player."""
    return {
        "id": str(claim.id),
        "walletAddress": claim.wallet_address,
        "player": f"/admin/users/{claim.wallet_address}",
        "status": str(claim.status),
        "source": claim.source,
        "coins": claim.coins,
        "credited": claim.credited,
        "held": claim.held,
        "accepted": claim.plan,
        "dropped": claim.dropped,
        "save": json.loads(claim.submitted),
        "createdAt": claim.created_at.isoformat(),
        "decidedAt": claim.decided_at.isoformat() if claim.decided_at else None,
        "decidedBy": claim.decided_by,
        "decidedRole": claim.decided_role,
        "reason": claim.reason,
    }


def _object_id(claim_id: str) -> ObjectId:
    try:
        return ObjectId(claim_id)
    except (InvalidId, TypeError):
        raise NotFound("No such migration claim") from None


class MigrationReview:
    def __init__(
        self,
        economy: EconomyService,
        notify: Notify,
        audit: AuditTrail,
        *,
        puffle_limit: int,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.economy = economy
        self.notify = notify
        self.audit = audit
        self.puffle_limit = puffle_limit
        self.clock = clock

    async def claims(
        self, status: str | None, before: str | None, limit: int
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Claims newest first (of one status, if given), and the cursor of the next page.
        Raises InvalidMessage."""
        query: dict[str, Any] = {}
        if status is not None:
            if status not in set(ClaimStatus):
                raise InvalidMessage("status: one of " + ", ".join(ClaimStatus))
            query["status"] = status
        if before is not None:
            try:
                query["_id"] = {"$lt": ObjectId(before)}
            except InvalidId:
                raise InvalidMessage("before: not a cursor from `next`") from None
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidMessage(f"limit: between 1 and {MAX_PAGE}")
        found = await MigrationClaim.find(query).sort("-_id").limit(limit + 1).to_list()
        page = [public(claim) for claim in found[:limit]]
        return page, (page[-1]["id"] if len(found) > limit else None)

    async def approve(self, claim_id: str, actor: str, role: str | None, reason: str) -> Decision:
        """Credit and apply a held claim. Raises NotFound, Conflict (already rejected)."""
        claim = await self._get(claim_id)
        if claim.status == ClaimStatus.APPROVED:
            return Decision(public(claim), True)
        self._check_pending(claim)
        now = self.clock()
        plan = await self._fitting(MigrationPlan.from_accepted(claim.plan), claim.wallet_address)
        if plan.username is not None:  # free when held; another player may have taken it since
            plan.username = await free_username(User.get_pymongo_collection(), plan.username)
        writes = self._approval(claim, plan, actor, role, reason, now)
        wallet = claim.wallet_address
        try:
            if plan.coins > 0:
                result = await self.economy.apply(
                    wallet, plan.coins, MIGRATION,
                    idempotency_key=migration_key(wallet, await generation(wallet)),
                    actor=f"admin:{actor}", reason=f"migration claim approved: {reason}"[:500],
                    proof={"source": SOURCE, "claimId": str(claim.id)}, extra_writes=writes,
                )  # fmt: skip
                replayed = result.replayed
            else:
                await self.economy.run_transaction(writes)
                replayed = False
        except Conflict:
            replayed = True  # decided meanwhile: approved (a replay) or not (re-raised below)
        decided = await self._get(claim_id)
        if decided.status != ClaimStatus.APPROVED:
            raise Conflict(f"The claim is already {decided.status}")
        if not replayed:
            self._tell(decided)
        return Decision(public(decided), replayed)

    async def reject(self, claim_id: str, actor: str, role: str | None, reason: str) -> Decision:
        """Refuse a held claim: nothing is credited. Raises NotFound, Conflict (approved)."""
        claim = await self._get(claim_id)
        if claim.status == ClaimStatus.REJECTED:
            return Decision(public(claim), True)
        self._check_pending(claim)
        now = self.clock()

        async def writes(session: Session) -> bool:
            if not await self._decide(session, claim, ClaimStatus.REJECTED, 0, actor, role,
                                      reason, now):  # fmt: skip
                return False
            await self.audit.record(
                actor, role, StaffAction.MIGRATION_REJECT, claim.wallet_address, reason,
                {"status": "pending", "coins": claim.coins}, {"status": "rejected"},
                session=session,
            )  # fmt: skip
            return True

        decided_now = await self.economy.run_transaction(writes)
        decided = await self._get(claim_id)
        if decided.status != ClaimStatus.REJECTED:
            raise Conflict(f"The claim is already {decided.status}")
        if decided_now:
            self._tell(decided)
        return Decision(public(decided), not decided_now)

    def _approval(
        self,
        claim: MigrationClaim,
        plan: MigrationPlan,
        actor: str,
        role: str | None,
        reason: str,
        now: datetime,
    ) -> Callable[[Session], Any]:
        wallet = claim.wallet_address

        async def writes(session: Session) -> None:
            if not await self._decide(session, claim, ClaimStatus.APPROVED, plan.coins, actor,
                                      role, reason, now):  # fmt: skip
                # Decided meanwhile: after a concurrent approval the ledger entry makes this
                # one a replay (economy.apply answers the stored result).
                raise Conflict("The claim was decided meanwhile")
            outcome = _outcome(claim, ClaimStatus.APPROVED, plan.coins, reason, now)
            await User.get_pymongo_collection().update_one(
                {"walletAddress": wallet}, user_update(plan, None, outcome, now), session=session
            )
            puffles = puffle_documents(wallet, plan, now)
            if puffles:
                await Puffle.get_pymongo_collection().insert_many(puffles, session=session)
            await self.audit.record(
                actor, role, StaffAction.MIGRATION_APPROVE, wallet, reason,
                {"status": "pending", "coins": claim.coins},
                {"status": "approved", "credited": plan.coins, "puffles": len(plan.puffles)},
                session=session,
            )  # fmt: skip

        return writes

    async def _decide(
        self,
        session: Session,
        claim: MigrationClaim,
        status: ClaimStatus,
        credited: int,
        actor: str,
        role: str | None,
        reason: str,
        now: datetime,
    ) -> bool:
        """pending → `status` on the claim and the player's outcome; False when the claim
        was decided meanwhile (the update matched nothing)."""
        changed = await MigrationClaim.get_pymongo_collection().update_one(
            {"_id": claim.id, "status": ClaimStatus.PENDING.value},
            {"$set": {"status": status.value, "credited": credited, "decidedAt": now,
                      "decidedBy": actor, "decidedRole": role, "reason": reason}},
            session=session,
        )  # fmt: skip
        if changed.matched_count == 0:
            return False
        outcome = _outcome(claim, status, credited, reason, now)
        await User.get_pymongo_collection().update_one(
            {"walletAddress": claim.wallet_address},
            {"$set": {"migrationClaim": outcome.model_dump(by_alias=True), "updatedAt": now}},
            session=session,
        )
        return True

    async def _fitting(self, plan: MigrationPlan, wallet: str) -> MigrationPlan:
        """The plan with only as many puffles as fit under PUFFLE_LIMIT now (the player may
        have adopted some while the claim waited)."""
        live = await Puffle.find({"ownerWallet": wallet, "releasedAt": None}).count()
        plan.puffles = plan.puffles[: max(self.puffle_limit - live, 0)]
        return plan

    async def _get(self, claim_id: str) -> MigrationClaim:
        claim = await MigrationClaim.get(_object_id(claim_id))
        if claim is None:
            raise NotFound("No such migration claim")
        return claim

    def _check_pending(self, claim: MigrationClaim) -> None:
        if claim.status != ClaimStatus.PENDING:
            raise Conflict(f"The claim is already {claim.status}")

    def _tell(self, claim: MigrationClaim) -> None:
        self.notify(
            claim.wallet_address,
            MigrationReviewed(str(claim.id), str(claim.status), claim.credited, claim.reason),
        )


def _outcome(
    claim: MigrationClaim, status: ClaimStatus, coins: int, reason: str, now: datetime
) -> MigrationOutcome:
    return MigrationOutcome(
        claim_id=str(claim.id), status=status.value, coins=coins, reason=reason, decided_at=now
    )
