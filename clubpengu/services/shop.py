"""The shop and the wardrobe: buying catalogue items and wearing the ones a player owns.

A purchase debits the price through the ledger and unlocks the item in the same MongoDB
transaction (EconomyService.apply with `extra_writes`), so a player never pays without
getting the item or gets it without paying. Equipping is one conditional update whose
filter requires ownership, so it cannot race with anything (the server decides: equipping
needs ownership, docs/economy.md#shop-promo-codes-and-the-daily-bonus).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import AsyncMongoClient

from clubpengu.errors import Conflict, Forbidden, InvalidMessage, NotFound
from clubpengu.models.base import utcnow
from clubpengu.progression.triggers import StampEvent
from clubpengu.services.catalog import EQUIP_SLOTS, MOUNT_SLOT, Catalog, CatalogItem, ItemType
from clubpengu.services.economy import USERS, EconomyService
from clubpengu.services.stamp_events import Report, ignore_event
from clubpengu.services.transaction_runner import Session

MAX_CLIENT_KEY = 64
PURCHASE = "purchase"


@dataclass(frozen=True)
class PurchaseResult:
    item_id: str
    price: int
    balance: int
    transaction_id: str
    replayed: bool = False


def purchase_key(wallet: str, client_key: str) -> str:
    """The ledger key of a purchase: clients choose their keys, so they are scoped by
    wallet (two players may both send "1")."""
    if not isinstance(client_key, str) or not 1 <= len(client_key) <= MAX_CLIENT_KEY:
        raise InvalidMessage(f"idempotencyKey must be 1 to {MAX_CLIENT_KEY} characters")
    return f"{PURCHASE}:{wallet}:{client_key}"


def unlock_write(item: CatalogItem) -> tuple[dict[str, Any], dict[str, Any]]:
    """(extra filter, update) that gives the item to a user: a once-only item is added if
    not owned yet (no match means owned); a puffle item's count goes up by one."""
    if item.consumable:
        return {}, {"$inc": {item.owned_field: 1}}
    return {item.owned_field: {"$ne": item.id}}, {"$addToSet": {item.owned_field: item.id}}


class ShopService:
    """Purchases and customization against one database; errors are DomainErrors."""

    def __init__(
        self,
        client: AsyncMongoClient[dict[str, Any]],
        db_name: str,
        economy: EconomyService,
        catalog: Catalog,
        *,
        clock: Callable[[], datetime] = utcnow,
        stamps: Report = ignore_event,
    ) -> None:
        self.users = client[db_name][USERS]
        self.stamps = stamps
        self.economy = economy
        self.catalog = catalog
        self.clock = clock

    def list_items(self) -> list[dict[str, Any]]:
        """Every catalogue item (also those not for sale, so owned ones can be shown)."""
        return self.catalog.public()

    async def purchase(self, wallet: str, item_id: str, idempotency_key: str) -> PurchaseResult:
        """Buy one `item_id` for `wallet`: debit its price and unlock it, atomically.

        The same idempotency key again returns the first result (replayed=True). Raises
        NotFound (unknown item or wallet), Forbidden (not for sale), Conflict (a cosmetic
        or mount already owned; or the key was used for another purchase),
        InsufficientFunds, InvalidMessage (bad key), Unavailable (retries exhausted).
        """
        item = self._sellable(item_id)
        key = purchase_key(wallet, idempotency_key)
        proof = {"itemId": item.id}
        if not item.consumable and await self._owns(wallet, item):
            # Checked first so that owning wins over being short of coins; the unlock
            # inside the transaction is what actually prevents buying twice.
            earlier = await self.economy.replay(
                wallet, -item.price, PURCHASE, idempotency_key=key, proof=proof
            )
            if earlier is None:
                raise Conflict("You already own this item", item_id=item.id)
            return PurchaseResult(
                item.id, item.price, earlier.balance, earlier.transaction_id, True
            )
        result = await self.economy.apply(
            wallet,
            -item.price,
            PURCHASE,
            idempotency_key=key,
            actor=f"player:{wallet}",
            reason=f"bought {item.name}",
            proof=proof,
            extra_writes=self._unlocker(wallet, item),
        )
        if not result.replayed:
            self.stamps(wallet, StampEvent("item_purchased"))
        return PurchaseResult(
            item.id, item.price, result.balance, result.transaction_id, result.replayed
        )

    async def equip(self, wallet: str, slot: str, item_id: str | None) -> dict[str, str]:
        """Wear `item_id` in `slot` (None takes the slot off); see set_customization."""
        return await self.set_customization(wallet, {slot: item_id})

    async def set_customization(
        self, wallet: str, changes: Mapping[str, str | None]
    ) -> dict[str, str]:
        """Apply {slot: item id or None} at once and return the whole new customization.

        Every item must be one the player owns (or a starter item) and made for that slot.
        Raises InvalidMessage (no changes, an unknown slot, removing the colour), Forbidden
        (an unknown item, the wrong slot, not owned), NotFound (no such wallet); nothing
        changes on error.
        """
        sets, unsets, needed = self._plan(changes)
        query: dict[str, Any] = {"walletAddress": wallet}
        for field, ids in needed.items():
            if ids:
                query[field] = {"$all": ids}
        update: dict[str, Any] = {"$set": {**sets, "updatedAt": self.clock()}}
        if unsets:
            update["$unset"] = dict.fromkeys(unsets, "")
        # An update and a read, not one find_one_and_update: SecantusDB runs that one's
        # write as a scan of every user (docs/secantusdb-retryable-writes.md). Another
        # change of the look between the two is returned with this one, as it would be
        # by the next read anyway.
        changed = await self.users.update_one(query, update)
        if changed.matched_count == 0:
            await self._refuse_customization(wallet, needed)
        doc = await self.users.find_one({"walletAddress": wallet}, {"customization": 1})
        if doc is None:  # removed between the two (staff tools)
            raise NotFound("No player has that wallet")
        return dict(doc.get("customization") or {})

    def _sellable(self, item_id: str) -> CatalogItem:
        item = self.catalog.get(item_id) if isinstance(item_id, str) else None
        if item is None:
            raise NotFound("No such item", item_id=item_id)
        if not item.for_sale:
            raise Forbidden("This item is not for sale", item_id=item.id)
        return item

    async def _owns(self, wallet: str, item: CatalogItem) -> bool:
        found = await self.users.find_one(
            {"walletAddress": wallet, item.owned_field: item.id}, {"_id": 1}
        )
        return found is not None

    def _unlocker(self, wallet: str, item: CatalogItem) -> Callable[[Session], Any]:
        extra_filter, update = unlock_write(item)

        async def unlock(session: Session) -> None:
            result = await self.users.update_one(
                {"walletAddress": wallet, **extra_filter}, update, session=session
            )
            if result.matched_count:
                return
            if await self.users.find_one({"walletAddress": wallet}, {"_id": 1}, session=session):
                raise Conflict("You already own this item", item_id=item.id)
            raise NotFound("No player has that wallet")

        return unlock

    def _plan(
        self, changes: Mapping[str, str | None]
    ) -> tuple[dict[str, str], list[str], dict[str, list[str]]]:
        """($set paths, $unset paths, ids that must be owned by field) for the changes."""
        if not changes:
            raise InvalidMessage("name at least one slot to change")
        sets: dict[str, str] = {}
        unsets: list[str] = []
        needed: dict[str, list[str]] = {"unlockedCosmetics": [], "unlockedMounts": []}
        for slot, item_id in changes.items():
            if slot not in EQUIP_SLOTS:
                raise InvalidMessage(f"unknown slot {str(slot)[:20]!r}")
            if item_id is None:
                if slot == "color":
                    raise InvalidMessage("the colour can be changed but not removed")
                unsets.append(f"customization.{slot}")
                continue
            item = self._wearable(slot, item_id)
            sets[f"customization.{slot}"] = item.id
            if not item.starter:
                needed[item.owned_field].append(item.id)
        return sets, unsets, needed

    def _wearable(self, slot: str, item_id: str) -> CatalogItem:
        item = self.catalog.get(item_id) if isinstance(item_id, str) else None
        kind = ItemType.MOUNT if slot == MOUNT_SLOT else ItemType.COSMETIC
        if item is None or item.type != kind or item.slot != slot:
            raise Forbidden(f"That item cannot be worn in the {slot} slot", item_id=item_id)
        return item

    async def _refuse_customization(self, wallet: str, needed: dict[str, list[str]]) -> None:
        user = await self.users.find_one({"walletAddress": wallet}, dict.fromkeys(needed, 1))
        if user is None:
            raise NotFound("No player has that wallet")
        for field, ids in needed.items():
            missing = [item_id for item_id in ids if item_id not in (user.get(field) or [])]
            if missing:
                raise Forbidden("You do not own that item", item_id=missing[0])
        # Ownership changed between the update and this read; the caller may retry.
        raise Conflict("Your items changed meanwhile; try again")
