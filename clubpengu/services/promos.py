"""Promo codes: created by economy admins, redeemed once per wallet for coins and/or items.

A redemption is one MongoDB transaction: the coins through the ledger (type `promo`, key
`promo:<CODE>:<wallet>`), the code's `redeemedCount` raised by a conditional update that
also checks it is active, unexpired and below `maxRedemptions` (so concurrent redeemers
never exceed the maximum), a `promo_redemptions` document whose unique (code, wallet)
index refuses a second redemption, and the items unlocked. Any refusal aborts it all.

Errors: NotFound (no such code), Expired (code `expired`: past its expiry, or switched
off by an admin — then the message says it is not active), Conflict (already redeemed by
this wallet, or no redemptions left: `data["reason"]` is `already_redeemed` or
`sold_out`).

Creating a code and changing one (`update`: active, expiry, maximum) are staff actions:
each writes its audit entry (with the code before and after) in its own transaction.
"""

from __future__ import annotations

import builtins
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo import AsyncMongoClient, ReturnDocument
from pymongo.errors import DuplicateKeyError

from clubpengu.errors import Conflict, DomainError, Expired, InvalidMessage, NotFound
from clubpengu.models import PromoCode, PromoRedemption
from clubpengu.models.base import utcnow
from clubpengu.services.audit import AuditTrail, Staff, StaffAction
from clubpengu.services.catalog import Catalog, CatalogItem
from clubpengu.services.economy import USERS, EconomyService
from clubpengu.services.economy_log import log_economy
from clubpengu.services.ledger import MAX_AMOUNT, short_actor
from clubpengu.services.transaction_runner import Session

logger = logging.getLogger(__name__)

CODE_PATTERN = re.compile(r"^[A-Z0-9_-]{3,32}$")
MAX_REDEMPTIONS = 10_000_000
MAX_ITEMS = 20
PROMO = "promo"


@dataclass(frozen=True)
class Promo:
    """A promo code as the services and the admin tools see it."""

    code: str
    coins: int
    items: tuple[str, ...]
    max_redemptions: int
    redeemed_count: int
    expires_at: datetime | None
    active: bool
    created_by: str
    created_at: datetime

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> Promo:
        return cls(
            code=doc["code"],
            coins=int(doc.get("coins", 0)),
            items=tuple(doc.get("items") or ()),
            max_redemptions=int(doc["maxRedemptions"]),
            redeemed_count=int(doc.get("redeemedCount", 0)),
            expires_at=_aware(doc.get("expiresAt")),
            active=bool(doc.get("active", True)),
            created_by=str(doc.get("createdBy", "")),
            created_at=_aware(doc.get("createdAt")) or utcnow(),
        )

    def public(self) -> dict[str, Any]:
        expires = self.expires_at.isoformat() if self.expires_at else None
        return {
            "code": self.code, "coins": self.coins, "items": list(self.items),
            "maxRedemptions": self.max_redemptions, "redeemedCount": self.redeemed_count,
            "expiresAt": expires, "active": self.active, "createdBy": self.created_by,
            "createdAt": self.created_at.isoformat(),
        }  # fmt: skip


@dataclass(frozen=True)
class PromoResult:
    """What a redemption gave: coins (balance is the new one, None if no coins) and items."""

    code: str
    coins: int
    items: tuple[str, ...]
    balance: int | None
    transaction_id: str | None


def normalize_code(code: object) -> str:
    """Codes are case-insensitive: stored and compared upper-case. Raises InvalidMessage."""
    text = code.strip().upper() if isinstance(code, str) else ""
    if not CODE_PATTERN.match(text):
        raise InvalidMessage("a promo code is 3 to 32 letters, digits, '-' or '_'")
    return text


def _aware(value: Any) -> datetime | None:
    """Stored datetimes are UTC; a client without tz_aware returns them naive."""
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value if isinstance(value, datetime) else None


def claim_filter(code: str, now: datetime) -> dict[str, Any]:
    """Matches the code only while it can still be redeemed."""
    return {
        "code": code,
        "active": True,
        "$expr": {"$lt": ["$redeemedCount", "$maxRedemptions"]},
        "$or": [{"expiresAt": None}, {"expiresAt": {"$gt": now}}],
    }


def grant_update(items: Iterable[CatalogItem]) -> dict[str, Any]:
    """The user update that gives these items (owned-once items are not duplicated)."""
    update: dict[str, dict[str, Any]] = {}
    for item in items:
        if item.consumable:
            update.setdefault("$inc", {})[item.owned_field] = 1
        else:
            each = update.setdefault("$addToSet", {}).setdefault(item.owned_field, {"$each": []})
            each["$each"].append(item.id)
    return update


def refusal(promo: Mapping[str, Any] | None, now: datetime) -> DomainError | None:
    """Why this code cannot be redeemed now, or None if it can."""
    if promo is None:
        return NotFound("No such promo code")
    if not promo.get("active", True):
        return Expired("This promo code is not active", reason="inactive")
    expires = _aware(promo.get("expiresAt"))
    if expires is not None and expires <= now:
        return Expired("This promo code has expired")
    if promo.get("redeemedCount", 0) >= promo["maxRedemptions"]:
        return Conflict("This promo code has no redemptions left", reason="sold_out")
    return None


class PromoService:
    """Creates, lists and redeems promo codes; see the module docstring."""

    def __init__(
        self,
        client: AsyncMongoClient[dict[str, Any]],
        db_name: str,
        economy: EconomyService,
        catalog: Catalog,
        *,
        audit: AuditTrail | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        database = client[db_name]
        self.promos = database[PromoCode.Settings.name]
        self.redemptions = database[PromoRedemption.Settings.name]
        self.users = database[USERS]
        self.economy = economy
        self.catalog = catalog
        self.audit = audit or AuditTrail(client, db_name, clock=clock)
        self.clock = clock

    async def create(
        self,
        code: str,
        *,
        coins: int = 0,
        items: Sequence[str] = (),
        max_redemptions: int,
        expires_at: datetime | None = None,
        created_by: str,
        active: bool = True,
        staff: Staff | None = None,
    ) -> Promo:
        """Create a code (stored upper-case), audited as `staff`'s action (default: the
        creator, with no role). Raises InvalidMessage (bad code, coins, items, maximum or
        expiry; nothing to grant) or Conflict (the code exists)."""
        now = self.clock()
        doc = {
            "code": normalize_code(code),
            "coins": _check_coins(coins),
            "items": self._check_items(items),
            "maxRedemptions": _check_max(max_redemptions),
            "redeemedCount": 0,
            "expiresAt": _check_expiry(expires_at, now),
            "active": bool(active),
            "createdBy": created_by,
            "createdAt": now,
        }
        if not doc["coins"] and not doc["items"]:
            raise InvalidMessage("a promo code must grant coins, items or both")
        promo = Promo.from_document(doc)
        who = staff or Staff(created_by, None)

        async def writes(session: Session) -> None:
            await self.promos.insert_one(doc, session=session)
            await self.audit.record(
                who.actor, who.role, StaffAction.PROMO_CREATE, f"promo:{promo.code}",
                f"created promo code {promo.code}", after=_audited(promo), session=session,
                source=who.source,
            )  # fmt: skip

        try:
            await self.economy.run_transaction(writes)
        except DuplicateKeyError:
            raise Conflict("That promo code already exists", code=doc["code"]) from None
        logger.info(
            "promo code created", extra={"code": doc["code"], "actor": short_actor(created_by)}
        )
        return promo

    async def update(
        self,
        code: str,
        staff: Staff,
        reason: str | None,
        changes: Mapping[str, Any],
    ) -> tuple[Promo, Promo]:
        """Change a code's `active`, `expires_at` (None: never) and `max_redemptions`
        (those of `changes`; at least one), audited with the code before and after; the
        code before and after. Raises NotFound, InvalidMessage (nothing to change, an
        unknown field, an expiry in the past, a maximum below the redemptions made)."""
        normalized = _lookup_code(code)
        if not changes or set(changes) - _CHANGEABLE:
            raise InvalidMessage("change at least one of active, expiresAt, maxRedemptions")
        now = self.clock()
        update = _promo_update(changes, now)

        async def writes(session: Session) -> tuple[Promo, Promo]:
            found = await self.promos.find_one({"code": normalized}, session=session)
            if found is None:
                raise NotFound("No such promo code")
            before = Promo.from_document(found)
            _check_not_below_redeemed(update, before)
            after_doc = await self.promos.find_one_and_update(
                {"_id": found["_id"]}, {"$set": update},
                return_document=ReturnDocument.AFTER, session=session,
            )  # fmt: skip
            after = Promo.from_document(after_doc or found)
            await self.audit.record(
                staff.actor, staff.role, StaffAction.PROMO_UPDATE, f"promo:{normalized}",
                reason, before=_audited(before), after=_audited(after), session=session,
                source=staff.source,
            )  # fmt: skip
            return before, after

        return await self.economy.run_transaction(writes)

    async def list(self) -> builtins.list[Promo]:
        """Every code, newest first."""
        cursor = self.promos.find({}).sort("createdAt", -1)
        return [Promo.from_document(doc) async for doc in cursor]

    async def get(self, code: str) -> Promo:
        """One code. Raises NotFound."""
        doc = await self.promos.find_one({"code": _lookup_code(code)})
        if doc is None:
            raise NotFound("No such promo code")
        return Promo.from_document(doc)

    async def redeem(self, wallet: str, code: str) -> PromoResult:
        """Redeem `code` for `wallet`, once; see the module docstring for the errors."""
        now = self.clock()
        normalized = _lookup_code(code)
        promo = await self.promos.find_one({"code": normalized})
        problem = refusal(promo, now)
        if problem is not None:
            raise problem
        assert promo is not None
        if await self.redemptions.find_one({"code": normalized, "walletAddress": wallet}):
            raise _already_redeemed()
        items = self._grantable(promo.get("items") or ())
        coins = int(promo.get("coins", 0))
        try:
            balance, transaction_id = await self._redeem(wallet, normalized, coins, items, now)
        except DuplicateKeyError:
            raise _already_redeemed() from None
        return PromoResult(normalized, coins, tuple(i.id for i in items), balance, transaction_id)

    async def _redeem(
        self, wallet: str, code: str, coins: int, items: Sequence[CatalogItem], now: datetime
    ) -> tuple[int | None, str | None]:
        writes = self._redemption_writes(wallet, code, coins, items, now)
        given = {"items": [i.id for i in items]}
        if not coins:
            await self.economy.run_transaction(writes)
            log_economy([], type=PROMO, wallet=wallet, actor=f"promo:{code}", code=code, **given)
            return None, None
        result = await self.economy.apply(
            wallet, coins, PROMO,
            idempotency_key=f"promo:{code}:{wallet}", actor=f"promo:{code}",
            reason=f"promo code {code}", proof={"code": code}, extra_writes=writes,
            log_fields=given,
        )  # fmt: skip
        if result.replayed:
            raise _already_redeemed()
        return result.balance, result.transaction_id

    def _redemption_writes(
        self, wallet: str, code: str, coins: int, items: Sequence[CatalogItem], now: datetime
    ) -> Callable[[Session], Any]:
        async def writes(session: Session) -> None:
            claimed = await self.promos.find_one_and_update(
                claim_filter(code, now), {"$inc": {"redeemedCount": 1}},
                projection={"_id": 1}, return_document=ReturnDocument.AFTER, session=session,
            )  # fmt: skip
            if claimed is None:
                current = await self.promos.find_one({"code": code}, session=session)
                raise refusal(current, now) or Conflict("The promo code changed; try again")
            await self.redemptions.insert_one(
                {"code": code, "walletAddress": wallet, "coins": coins,
                 "items": [i.id for i in items], "redeemedAt": now},
                session=session,
            )  # fmt: skip
            if items or not coins:
                update = grant_update(items) or {"$set": {"updatedAt": now}}
                granted = await self.users.update_one(
                    {"walletAddress": wallet}, update, session=session
                )
                if not granted.matched_count:
                    raise NotFound("No player has that wallet")

        return writes

    def _check_items(self, items: Sequence[str]) -> builtins.list[str]:
        if isinstance(items, str) or len(items) > MAX_ITEMS or len(set(items)) != len(items):
            raise InvalidMessage(f"items must be at most {MAX_ITEMS} different item ids")
        for item_id in items:
            item = self.catalog.get(item_id)
            if item is None or item.starter:
                raise InvalidMessage(f"{str(item_id)[:40]!r} is not an item a code can grant")
        return list(items)

    def _grantable(self, item_ids: Iterable[str]) -> builtins.list[CatalogItem]:
        items = []
        for item_id in item_ids:
            item = self.catalog.get(item_id)
            if item is None:  # removed from the catalogue since the code was made
                logger.warning("promo item no longer in the catalogue", extra={"item": item_id})
                continue
            items.append(item)
        return items


def _lookup_code(code: str) -> str:
    try:
        return normalize_code(code)
    except InvalidMessage:
        raise NotFound("No such promo code") from None


def _already_redeemed() -> Conflict:
    return Conflict("You have already redeemed this code", reason="already_redeemed")


def _check_coins(coins: object) -> int:
    if isinstance(coins, bool) or not isinstance(coins, int) or not 0 <= coins <= MAX_AMOUNT:
        raise InvalidMessage(f"coins must be an integer from 0 to {MAX_AMOUNT}")
    return coins


def _check_max(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_REDEMPTIONS:
        raise InvalidMessage(f"max redemptions must be an integer from 1 to {MAX_REDEMPTIONS}")
    return value


def _check_expiry(expires_at: datetime | None, now: datetime) -> datetime | None:
    if expires_at is None:
        return None
    if not isinstance(expires_at, datetime) or expires_at.tzinfo is None:
        raise InvalidMessage("the expiry must be a date and time with a time zone")
    if expires_at <= now:
        raise InvalidMessage("the expiry must be in the future")
    return expires_at.astimezone(UTC)


_CHANGEABLE = frozenset({"active", "expires_at", "max_redemptions"})


def _audited(promo: Promo) -> dict[str, Any]:
    """What of a code the audit keeps before and after a change."""
    public = promo.public()
    return {k: public[k] for k in ("active", "expiresAt", "maxRedemptions", "coins", "items")}


def _promo_update(changes: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    update: dict[str, Any] = {}
    if "active" in changes:
        if not isinstance(changes["active"], bool):
            raise InvalidMessage("active must be true or false")
        update["active"] = changes["active"]
    if "expires_at" in changes:
        update["expiresAt"] = _check_expiry(changes["expires_at"], now)
    if "max_redemptions" in changes:
        update["maxRedemptions"] = _check_max(changes["max_redemptions"])
    return update


def _check_not_below_redeemed(update: Mapping[str, Any], promo: Promo) -> None:
    maximum = update.get("maxRedemptions")
    if maximum is not None and maximum < promo.redeemed_count:
        raise InvalidMessage(
            f"maxRedemptions: at least the {promo.redeemed_count} redemptions already made"
        )
