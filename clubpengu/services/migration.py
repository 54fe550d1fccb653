"""In-game migration of a localStorage save (seed 000 §3), bounded: a save cannot tell an
honest player from a forged one, so what a save may bring by itself is small.

- Open only while MIGRATION_ENABLED, before MIGRATION_UNTIL, and within MIGRATION_WINDOW of
  the wallet's first sign-in; once per wallet, and only before it has progress
  (services/progress.py).
- A save under every review threshold (coins, puffles, only items the catalogue sells) is
  applied at once, in one transaction: coins through the ledger (type `migration`, key
  `migration:<wallet>`, or its generation's after a rolled-back import:
  services/migration_keys.py), unlocks, stamps, look, puffles, the claim (status `applied`), the
  User's `migrationClaim`, and an AuditLog entry.
- Any other save is held: its claim (status `pending`) and the User's `migrationClaim`
  are written, and nothing of it is credited until staff decide
  (services/migration_review.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from clubpengu.errors import Conflict, InvalidMessage, MigrationClosed, NotFound
from clubpengu.models import AuditLog, ClaimStatus, MigrationClaim, Puffle, User
from clubpengu.models.base import utcnow
from clubpengu.models.user import MigrationOutcome
from clubpengu.services.economy import EconomyService
from clubpengu.services.economy_log import log_economy
from clubpengu.services.migration_keys import MIGRATION, generation, migration_key
from clubpengu.services.migration_plan import MigrationPlan, MigrationPlanner, review_reasons
from clubpengu.services.names import lower
from clubpengu.services.progress import has_progress
from clubpengu.services.transaction_runner import Session
from clubpengu.services.usernames import free_username, is_username_clash

SOURCE = "localStorage"
MAX_SAVE_BYTES = 64 * 1024  # what a claim keeps of the save as sent
PENDING_REVIEW = "pending_review"  # a held claim, as the player is told


@dataclass(frozen=True)
class MigrationRules:
    """MIGRATION_ENABLED, MIGRATION_UNTIL, MIGRATION_WINDOW (None: no window) and the
    review thresholds MIGRATION_REVIEW_COINS and MIGRATION_REVIEW_PUFFLES."""

    enabled: bool = True
    until: datetime | None = None
    window: timedelta | None = timedelta(hours=1)
    review_coins: int = 1000
    review_puffles: int = 2


MIGRATION_NAME_ATTEMPTS = 3  # another player may take the free name meanwhile


@dataclass(frozen=True)
class MigrationResult:
    plan: MigrationPlan
    status: str  # "applied" or "pending_review"
    claim_id: str
    held: list[str]
    balance: int
    look: dict[str, str]
    wished_username: str | None = None  # the save's name, when another player had it


def user_changes(plan: MigrationPlan, user_look: dict[str, str], now: datetime) -> dict[str, Any]:
    """The fields a plan gives a new user document (the bulk import; coins are the ledger's)."""
    changes: dict[str, Any] = {
        "stamps": plan.stamps,
        "stampsEarnedAt": dict.fromkeys(plan.stamps, now),
        "unlockedCosmetics": plan.cosmetics,
        "unlockedMounts": plan.mounts,
        "customization": user_look | plan.customization,
        "migrationSource": SOURCE,
        "migratedAt": now,
        "updatedAt": now,
    }
    if plan.username:
        changes["username"] = plan.username
        changes["usernameLower"] = lower(plan.username)
    return changes


def user_update(
    plan: MigrationPlan, look: dict[str, str] | None, outcome: MigrationOutcome, now: datetime
) -> dict[str, Any]:
    """The update a plan makes on an existing user: unlocks and stamps added to what the
    server gave already (a promo's items stay), each new stamp earned now, the look (None:
    left as it is), the migration marker and the outcome the player sees."""
    sets: dict[str, Any] = {
        "migrationSource": SOURCE,
        "migratedAt": now,
        "migrationClaim": outcome.model_dump(by_alias=True),
        "updatedAt": now,
    }
    if look is not None:
        sets["customization"] = look
    if plan.username:
        sets["username"] = plan.username
        sets["usernameLower"] = lower(plan.username)
    added = {
        "stamps": {"$each": plan.stamps},
        "unlockedCosmetics": {"$each": plan.cosmetics},
        "unlockedMounts": {"$each": plan.mounts},
    }
    # `$min`: a migrated stamp the player had earned already keeps its earlier time.
    earned = {f"stampsEarnedAt.{stamp}": now for stamp in plan.stamps}
    update: dict[str, Any] = {"$set": sets, "$addToSet": added}
    if earned:
        update["$min"] = earned
    return update


def puffle_documents(wallet: str, plan: MigrationPlan, now: datetime) -> list[dict[str, Any]]:
    return [
        Puffle(
            owner_wallet=wallet, name=p["name"], color=p["color"], stats_at=now, adopted_at=now
        ).model_dump(by_alias=True, exclude={"id", "revision_id"})
        for p in plan.puffles
    ]


def audit_document(
    wallet: str,
    plan: MigrationPlan,
    actor: str,
    source: str,
    now: datetime,
    *,
    action: str = MIGRATION,
    **details: Any,
) -> dict[str, Any]:
    document: dict[str, Any] = AuditLog(
        action=action,
        actor=actor,
        wallet_address=wallet,
        source=source,
        at=now,
        details={
            "accepted": plan.accepted(),
            "dropped": [d.public() for d in plan.dropped],
            **details,
        },
    ).model_dump(by_alias=True, exclude={"id", "revision_id"})
    return document


def submitted_text(local_data: dict[str, Any]) -> str:
    """The save as sent, as JSON text (field names of any kind are safe in a string).
    Raises InvalidMessage when it is larger than a claim keeps."""
    text = json.dumps(local_data, ensure_ascii=False, separators=(",", ":"))
    if len(text.encode()) > MAX_SAVE_BYTES:
        raise InvalidMessage(f"localData: at most {MAX_SAVE_BYTES // 1024} KiB")
    return text


class MigrationService:
    def __init__(
        self,
        economy: EconomyService,
        planner: MigrationPlanner,
        rules: MigrationRules | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.economy = economy
        self.planner = planner
        self.rules = rules or MigrationRules()
        self.clock = clock

    async def migrate(self, wallet: str, local_data: dict[str, Any]) -> MigrationResult:
        """Apply `local_data` to `wallet`'s new account, or hold it for review. Raises
        MigrationClosed (off, past MIGRATION_UNTIL or the wallet's window), InvalidMessage
        (too large), NotFound (no user), Conflict (progress, or a save brought already);
        nothing changes then. The save's name is a wish: taken by another player, it gets a
        number (`Waddles2`)."""
        now = self.clock()
        self._check_open(now)
        submitted = submitted_text(local_data)
        user = await User.find_one(User.wallet_address == wallet)
        if user is None:
            raise NotFound("No player for this wallet")
        if has_progress(user):
            raise Conflict("This account already has progress or a save; nothing was migrated")
        self._check_window(user, now)
        plan = self.planner.plan(local_data)
        wish = plan.username
        for attempt in range(MIGRATION_NAME_ATTEMPTS):
            if wish is not None:
                plan.username = await free_username(User.get_pymongo_collection(), wish)
            try:
                result = await self._claim(wallet, user, plan, submitted, now)
            except DuplicateKeyError as error:
                if not is_username_clash(error) or attempt == MIGRATION_NAME_ATTEMPTS - 1:
                    raise
                continue
            if wish is not None and plan.username != wish:
                result = replace(result, wished_username=wish)
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    async def _claim(
        self, wallet: str, user: User, plan: MigrationPlan, submitted: str, now: datetime
    ) -> MigrationResult:
        """The save applied at once, or held for review (its name then waits with it)."""
        held = review_reasons(
            plan,
            self.planner.exclusives(plan),
            max_coins=self.rules.review_coins,
            max_puffles=self.rules.review_puffles,
        )
        claim = MigrationClaim(
            id=ObjectId(), wallet_address=wallet, submitted=submitted, plan=plan.accepted(),
            dropped=[d.public() for d in plan.dropped], held=held, coins=plan.coins,
            status=ClaimStatus.PENDING if held else ClaimStatus.APPLIED, created_at=now,
            credited=0 if held else plan.coins,
        )  # fmt: skip
        if held:
            await self._hold(claim, plan, now)
            return MigrationResult(plan, PENDING_REVIEW, str(claim.id), held, user.coins, {})
        look = dict(user.customization) | plan.customization
        balance = await self._apply(claim, plan, look, now)
        return MigrationResult(plan, ClaimStatus.APPLIED.value, str(claim.id), [], balance, look)

    def _check_open(self, now: datetime) -> None:
        if not self.rules.enabled:
            raise MigrationClosed("Bringing a save is switched off on this server")
        if self.rules.until is not None and now >= self.rules.until:
            until = self.rules.until.date().isoformat()
            raise MigrationClosed(f"Bringing a save closed on {until}")

    def _check_window(self, user: User, now: datetime) -> None:
        window = self.rules.window
        if window is not None and now - user.created_at > window:
            minutes = round(window.total_seconds() / 60)
            raise MigrationClosed(
                f"A save can be brought only in the first {minutes} minutes after "
                "a wallet's first sign-in"
            )

    async def _hold(self, claim: MigrationClaim, plan: MigrationPlan, now: datetime) -> None:
        wallet = claim.wallet_address
        outcome = MigrationOutcome(claim_id=str(claim.id), status=PENDING_REVIEW, coins=plan.coins)

        async def writes(session: Session) -> None:
            await _claim_user(session, wallet, {"$set": {
                "migrationClaim": outcome.model_dump(by_alias=True), "updatedAt": now,
            }})  # fmt: skip
            await _insert_claim(session, claim)
            audit = audit_document(wallet, plan, f"player:{wallet}", "in_game", now,
                                   action="migration_held", claimId=str(claim.id),
                                   held=claim.held)  # fmt: skip
            await AuditLog.get_pymongo_collection().insert_one(audit, session=session)

        await self.economy.run_transaction(writes)
        log_economy([], type="migration_held", wallet=wallet, actor=f"player:{wallet}",
                    claim=str(claim.id), held=len(claim.held))  # fmt: skip

    async def _apply(
        self, claim: MigrationClaim, plan: MigrationPlan, look: dict[str, str], now: datetime
    ) -> int:
        """The claim applied at once; the balance after it."""
        wallet = claim.wallet_address
        outcome = MigrationOutcome(
            claim_id=str(claim.id), status=ClaimStatus.APPLIED.value, coins=plan.coins
        )

        async def writes(session: Session) -> None:
            await _claim_user(session, wallet, user_update(plan, look, outcome, now))
            await _insert_claim(session, claim)
            puffles = puffle_documents(wallet, plan, now)
            if puffles:
                await Puffle.get_pymongo_collection().insert_many(puffles, session=session)
            audit = audit_document(wallet, plan, f"player:{wallet}", "in_game", now,
                                   claimId=str(claim.id))  # fmt: skip
            await AuditLog.get_pymongo_collection().insert_one(audit, session=session)

        counts = {"dropped": len(plan.dropped), "puffles": len(plan.puffles)}
        if plan.coins <= 0:
            await self.economy.run_transaction(writes)
            log_economy([], type=MIGRATION, wallet=wallet, actor=f"player:{wallet}", **counts)
            return await self.economy.balance(wallet)
        key = migration_key(wallet, await generation(wallet))
        result = await self.economy.apply(
            wallet, plan.coins, MIGRATION, idempotency_key=key,
            actor=f"player:{wallet}", reason="coins from a localStorage save",
            proof={"source": SOURCE}, extra_writes=writes, log_fields=counts,
        )  # fmt: skip
        if result.replayed:
            raise Conflict("This account already migrated")
        return result.balance


async def _claim_user(session: Session, wallet: str, update: dict[str, Any]) -> None:
    """`update` on the wallet's user, only while it has brought no save: the filter is the
    once-only guard, so a second migration matches nothing. Raises Conflict."""
    updated = await User.get_pymongo_collection().update_one(
        {"walletAddress": wallet, "migratedAt": None, "migrationClaim": None},
        update,
        session=session,
    )
    if updated.matched_count != 1:
        raise Conflict("This account already brought a save")


async def _insert_claim(session: Session, claim: MigrationClaim) -> None:
    try:
        await MigrationClaim.get_pymongo_collection().insert_one(
            claim.model_dump(by_alias=True), session=session
        )
    except DuplicateKeyError:
        raise Conflict("This account already brought a save") from None
