"""Puffles: adoption through the ledger, care with items from the inventory, stats that
decay with time, walking and release.

Stats are never updated by a timer: a puffle stores its four stats as of `statsAt`, and
`current_stats` computes what they are now from the elapsed time (the clock is injected,
so tests move time instead of sleeping). Care writes the decayed value plus the item's
effect, conditioned on the `statsAt` it read (a concurrent care is retried, not lost).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import AsyncMongoClient

from clubpengu.config import DEFAULT_CHAT_FILTER_WORDS
from clubpengu.errors import Conflict, Forbidden, InvalidMessage, NotFound
from clubpengu.models import Puffle, User
from clubpengu.models.base import utcnow
from clubpengu.models.user import WalkingPuffle
from clubpengu.progression.triggers import StampEvent
from clubpengu.services.catalog import Catalog, ItemType
from clubpengu.services.economy import EconomyService
from clubpengu.services.names import NamePolicy
from clubpengu.services.puffle_catalog import PuffleCatalog
from clubpengu.services.stamp_events import Report, ignore_event
from clubpengu.services.transaction_runner import Session
from clubpengu.wordfilter import WordFilter

STATS = ("hunger", "happiness", "cleanliness", "energy")
# Points lost per hour, per stat: a puffle left alone for a day is hungry and bored.
DECAY_PER_HOUR = {"hunger": 4.0, "happiness": 3.0, "cleanliness": 2.0, "energy": 2.5}
# What each kind of care does: (action, item slot, {stat: points}).
CARE = {
    "feed": ("food", {"hunger": 30.0, "energy": 5.0}),
    "play": ("toy", {"happiness": 25.0, "energy": -10.0}),
    "bathe": ("soap", {"cleanliness": 40.0}),
    "rest": ("bed", {"energy": 50.0}),
}
CARE_ATTEMPTS = 5


def current_stats(puffle: Puffle, now: datetime) -> dict[str, float]:
    """The stats as they are at `now`: stored values minus decay, clamped to 0..100."""
    hours = max((now - puffle.stats_at).total_seconds(), 0.0) / 3600.0
    return {stat: _clamp(getattr(puffle, stat) - DECAY_PER_HOUR[stat] * hours) for stat in STATS}


def _clamp(value: float) -> float:
    return min(max(value, 0.0), 100.0)


def public(puffle: Puffle, now: datetime) -> dict[str, Any]:
    """A puffle as its owner sees it (stats rounded to whole points)."""
    stats = current_stats(puffle, now)
    return {
        "puffleId": str(puffle.id),
        "name": puffle.name,
        "color": puffle.color,
        **{stat: round(value) for stat, value in stats.items()},
        "walking": puffle.walking,
        "adoptedAt": puffle.adopted_at.isoformat(),
    }


def walking_view(puffle: Puffle | None) -> dict[str, Any] | None:
    """The walking puffle as the room sees it in `<player>.puffle`."""
    if puffle is None:
        return None
    return _walking(puffle).view()


@dataclass(frozen=True)
class CareResult:
    puffle: Puffle
    item_id: str
    remaining: int


class PuffleService:
    """See the module docstring. Raises DomainErrors only; never builds frames."""

    def __init__(
        self,
        client: AsyncMongoClient[dict[str, Any]],
        db_name: str,
        economy: EconomyService,
        colors: PuffleCatalog,
        items: Catalog,
        *,
        limit: int,
        clock: Callable[[], datetime] = utcnow,
        names: NamePolicy | None = None,
        stamps: Report = ignore_event,
    ) -> None:
        database = client[db_name]
        self.stamps = stamps
        self.users = database[User.Settings.name]
        self.puffles = database[Puffle.Settings.name]
        self.economy = economy
        self.colors = colors
        self.items = items
        self.limit = limit
        self.clock = clock
        self.names = names or NamePolicy(WordFilter(DEFAULT_CHAT_FILTER_WORDS))

    def check_name(self, name: str) -> str:
        """1-16 letters, digits and spaces, past the word filter (services/names.py).
        Raises InvalidMessage."""
        return self.names.puffle_name(name)

    async def adopt(self, wallet: str, color: str, name: str) -> Puffle:
        """Pay the colour's price (ledger type `puffle_adoption`) and create the puffle, in
        one transaction. Raises NotFound (colour), InvalidMessage (name), Conflict (at the
        limit), InsufficientFunds. The limit is counted inside the transaction; two
        adoptions of one wallet both write its balance, so they cannot both pass it."""
        spec = self.colors.colors.get(color)
        if spec is None:
            raise NotFound("There is no puffle of that colour", color=color)
        clean = self.check_name(name)
        now = self.clock()
        puffle = Puffle(id=ObjectId(), owner_wallet=wallet, name=clean, color=color)
        puffle.stats_at = puffle.adopted_at = now
        document = puffle.model_dump(by_alias=True)

        async def insert(session: Session) -> None:
            live = {"ownerWallet": wallet, "releasedAt": None}
            if await self.puffles.count_documents(live, session=session) >= self.limit:
                raise Conflict(f"You can keep at most {self.limit} puffles", limit=self.limit)
            await self.puffles.insert_one(document, session=session)

        await self.economy.apply(
            wallet, -spec.price, "puffle_adoption",
            idempotency_key=f"puffle:{puffle.id}:adoption", reason=f"adopted {spec.name}",
            proof={"puffleId": str(puffle.id), "color": color}, extra_writes=insert,
        )  # fmt: skip
        self.stamps(wallet, StampEvent("puffle_adopted"))
        return puffle

    async def list(self, wallet: str) -> list[Puffle]:
        return await Puffle.find({"ownerWallet": wallet, "releasedAt": None}).to_list()

    async def get(self, wallet: str, puffle_id: str) -> Puffle:
        """A live puffle of `wallet`. Raises NotFound (also for someone else's puffle)."""
        if not ObjectId.is_valid(puffle_id):
            raise NotFound("You have no such puffle")
        puffle = await Puffle.find_one(
            {"_id": ObjectId(puffle_id), "ownerWallet": wallet, "releasedAt": None}
        )
        if puffle is None:
            raise NotFound("You have no such puffle")
        return puffle

    async def care(self, wallet: str, puffle_id: str, action: str, item_id: str) -> CareResult:
        """Use one `item_id` from the inventory on the puffle. Raises InvalidMessage (not a
        puffle item of the action's slot), NotFound, Forbidden (none in the inventory)."""
        slot, effect = CARE[action]
        item = self.items.get(item_id)
        if item is None or item.type != ItemType.PUFFLE_ITEM or item.slot != slot:
            raise InvalidMessage(f"itemId: {action} needs a puffle item of slot {slot}")
        for _ in range(CARE_ATTEMPTS):
            puffle = await self.get(wallet, puffle_id)
            now = self.clock()
            stats = current_stats(puffle, now)
            for stat, points in effect.items():
                stats[stat] = _clamp(stats[stat] + points)
            remaining = await self.economy.run_transaction(
                self._care_writes(wallet, puffle, item_id, stats, now)
            )
            if remaining is not None:
                for stat, value in stats.items():
                    setattr(puffle, stat, value)
                puffle.stats_at = now
                self.stamps(wallet, StampEvent("puffle_cared", action=action))
                return CareResult(puffle, item_id, remaining)
        raise Conflict("The puffle is busy; try again")

    def _care_writes(
        self, wallet: str, puffle: Puffle, item_id: str, stats: dict[str, float], now: datetime
    ) -> Callable[[Session], Any]:
        field = f"inventory.{item_id}"

        async def writes(session: Session) -> int | None:
            changed = await self.puffles.update_one(
                {"_id": puffle.id, "statsAt": puffle.stats_at, "releasedAt": None},
                {"$set": {**stats, "statsAt": now}},
                session=session,
            )
            if changed.matched_count == 0:
                return None  # cared for meanwhile: read again
            # An update and a read (in the transaction's snapshot, which sees the update),
            # not one find_one_and_update: SecantusDB runs that one's write as a scan of
            # every user (docs/secantusdb-retryable-writes.md).
            used = await self.users.update_one(
                {"walletAddress": wallet, field: {"$gte": 1}},
                {"$inc": {field: -1}},
                session=session,
            )
            if used.matched_count == 0:
                raise Forbidden(f"You have no {item_id}; buy one in the shop", item=item_id)
            user = await self.users.find_one(
                {"walletAddress": wallet}, {"inventory": 1}, session=session
            )
            assert user is not None
            return int(user["inventory"][item_id])

        return writes

    async def walk(self, wallet: str, puffle_id: str | None) -> Puffle | None:
        """Walk `puffle_id` (None: walk none). Any other walking puffle goes home. The User
        says which one walks (`walkingPuffle`), written in the same transaction: a join
        shows it from the User the sign-in read, with no look-up of its own."""
        puffle = await self.get(wallet, puffle_id) if puffle_id is not None else None
        walking = _walking(puffle).model_dump(by_alias=True) if puffle is not None else None

        async def writes(session: Session) -> None:
            await self.puffles.update_many(
                {"ownerWallet": wallet, "walking": True}, {"$set": {"walking": False}},
                session=session,
            )  # fmt: skip
            if puffle is not None:
                await self.puffles.update_one(
                    {"_id": puffle.id}, {"$set": {"walking": True}}, session=session
                )
            await self.users.update_one(
                {"walletAddress": wallet}, {"$set": {"walkingPuffle": walking}}, session=session
            )

        await self.economy.run_transaction(writes)
        if puffle is not None:
            puffle.walking = True
        return puffle

    async def walking(self, wallet: str) -> WalkingPuffle | None:
        """The puffle `wallet` walks, as its User says."""
        user = await self.users.find_one({"walletAddress": wallet}, {"walkingPuffle": 1})
        kept = (user or {}).get("walkingPuffle")
        return WalkingPuffle.model_validate(kept) if kept else None

    async def release(self, wallet: str, puffle_id: str) -> Puffle:
        """Let the puffle go: it keeps its document with `releasedAt` set; if it was
        walking, the User's `walkingPuffle` is cleared in the same transaction. Raises
        NotFound."""
        puffle = await self.get(wallet, puffle_id)

        async def writes(session: Session) -> bool:
            changed = await self.puffles.update_one(
                {"_id": puffle.id, "releasedAt": None},
                {"$set": {"releasedAt": self.clock(), "walking": False}},
                session=session,
            )
            if changed.matched_count == 0:
                return False
            await self.users.update_one(
                {"walletAddress": wallet, "walkingPuffle.puffleId": str(puffle.id)},
                {"$set": {"walkingPuffle": None}},
                session=session,
            )
            return True

        if not await self.economy.run_transaction(writes):
            raise NotFound("You have no such puffle")
        return puffle


def _walking(puffle: Puffle) -> WalkingPuffle:
    return WalkingPuffle(puffle_id=str(puffle.id), name=puffle.name, color=puffle.color)
