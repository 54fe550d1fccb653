"""In-game migration of a localStorage save (seed 000 §3): once, for a new player only,
applied atomically — coins through the ledger (type `migration`), unlocks, stamps, look,
puffles, `migrationSource`/`migratedAt`, and an AuditLog entry, in one transaction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from clubpengu.errors import Conflict, NotFound
from clubpengu.models import AuditLog, Puffle, User
from clubpengu.models.base import utcnow
from clubpengu.services.economy import EconomyService
from clubpengu.services.economy_log import log_economy
from clubpengu.services.migration_plan import MigrationPlan, MigrationPlanner
from clubpengu.services.names import lower
from clubpengu.services.transaction_runner import Session
from clubpengu.services.usernames import free_username, is_username_clash

MIGRATION = "migration"
SOURCE = "localStorage"


MIGRATION_NAME_ATTEMPTS = 3  # another player may take the free name meanwhile


@dataclass(frozen=True)
class MigrationResult:
    plan: MigrationPlan
    balance: int
    look: dict[str, str]
    wished_username: str | None = None  # the save's name, when another player had it


def migration_key(wallet: str) -> str:
    return f"{MIGRATION}:{wallet}"


def has_progress(user: User) -> bool:
    """Anything a player can only have by playing, or by migrating before."""
    return bool(
        user.migrated_at
        or user.coins
        or user.unlocked_cosmetics
        or [m for m in user.unlocked_mounts if m != "none"]
        or user.stamps
        or user.inventory
    )


def user_changes(plan: MigrationPlan, user_look: dict[str, str], now: datetime) -> dict[str, Any]:
    """The `$set` a plan makes on the user (coins are the ledger's)."""
    changes: dict[str, Any] = {
        "stamps": plan.stamps,
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


def puffle_documents(wallet: str, plan: MigrationPlan, now: datetime) -> list[dict[str, Any]]:
    return [
        Puffle(
            owner_wallet=wallet, name=p["name"], color=p["color"], stats_at=now, adopted_at=now
        ).model_dump(by_alias=True, exclude={"id", "revision_id"})
        for p in plan.puffles
    ]


def audit_document(
    wallet: str, plan: MigrationPlan, actor: str, source: str, now: datetime
) -> dict[str, Any]:
    document: dict[str, Any] = AuditLog(
        action=MIGRATION,
        actor=actor,
        wallet_address=wallet,
        source=source,
        at=now,
        details={
            "accepted": plan.accepted(),
            "dropped": [d.public() for d in plan.dropped],
        },
    ).model_dump(by_alias=True, exclude={"id", "revision_id"})
    return document


class MigrationService:
    def __init__(
        self,
        economy: EconomyService,
        planner: MigrationPlanner,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.economy = economy
        self.planner = planner
        self.clock = clock

    async def migrate(self, wallet: str, local_data: dict[str, Any]) -> MigrationResult:
        """Apply `local_data` to `wallet`'s new account. Raises NotFound (no user),
        Conflict (the player has progress or migrated already); nothing changes then. The
        save's name is a wish: taken by another player, it gets a number (`Waddles2`)."""
        user = await User.find_one(User.wallet_address == wallet)
        if user is None:
            raise NotFound("No player for this wallet")
        if has_progress(user):
            raise Conflict("This account already has progress; nothing was migrated")
        plan = self.planner.plan(local_data)
        wish = plan.username
        for attempt in range(MIGRATION_NAME_ATTEMPTS):
            if wish is not None:
                plan.username = await free_username(User.get_pymongo_collection(), wish)
            try:
                result = await self._apply(wallet, user, plan)
            except DuplicateKeyError as error:
                if not is_username_clash(error) or attempt == MIGRATION_NAME_ATTEMPTS - 1:
                    raise
                continue
            renamed = wish if wish is not None and plan.username != wish else None
            return MigrationResult(result.plan, result.balance, result.look, renamed)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _apply(self, wallet: str, user: User, plan: MigrationPlan) -> MigrationResult:
        now = self.clock()
        look = dict(user.customization) | plan.customization
        writes = self._writes(wallet, plan, dict(user.customization), now)
        counts = {"dropped": len(plan.dropped), "puffles": len(plan.puffles)}
        if plan.coins > 0:
            result = await self.economy.apply(
                wallet,
                plan.coins,
                MIGRATION,
                idempotency_key=migration_key(wallet),
                actor=f"player:{wallet}",
                reason="coins from a localStorage save",
                proof={"source": SOURCE},
                extra_writes=writes,
                log_fields=counts,
            )
            if result.replayed:
                raise Conflict("This account already migrated")
            balance = result.balance
        else:
            await self.economy.run_transaction(writes)
            log_economy([], type=MIGRATION, wallet=wallet, actor=f"player:{wallet}", **counts)
            balance = 0
        return MigrationResult(plan, balance, look)

    def _writes(
        self, wallet: str, plan: MigrationPlan, look: dict[str, str], now: datetime
    ) -> Callable[[Session], Any]:
        async def writes(session: Session) -> None:
            # The filter is the once-only guard: a second migration matches nothing.
            updated = await User.get_pymongo_collection().update_one(
                {"walletAddress": wallet, "migratedAt": None},
                {"$set": user_changes(plan, look, now)},
                session=session,
            )
            if updated.matched_count != 1:
                raise Conflict("This account already migrated")
            puffles = puffle_documents(wallet, plan, now)
            if puffles:
                await Puffle.get_pymongo_collection().insert_many(puffles, session=session)
            await AuditLog.get_pymongo_collection().insert_one(
                audit_document(wallet, plan, f"player:{wallet}", "in_game", now), session=session
            )

        return writes
