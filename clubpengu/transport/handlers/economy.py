"""Coins, shop, equipment and promo codes over the WebSocket (docs/protocol.md §6, §7)."""

from __future__ import annotations

from typing import Any

from clubpengu.realtime.connection import Connection
from clubpengu.realtime.hub import Hub
from clubpengu.services.promos import PromoService
from clubpengu.services.shop import ShopService
from clubpengu.transport.handlers import require_wallet
from clubpengu.transport.messages import (
    CatalogRequest,
    Equip,
    Purchase,
    RedeemPromo,
    SetCustomization,
)
from clubpengu.transport.router import Router


def _wallet(connection: Connection) -> str:
    return require_wallet(connection, "Guests own nothing; sign in with a wallet to use coins")


class EconomyHandlers:
    def __init__(self, shop: ShopService, promos: PromoService, hub: Hub) -> None:
        self.shop = shop
        self.promos = promos
        self.hub = hub

    async def catalog(self, connection: Connection, message: CatalogRequest) -> dict[str, Any]:
        return {"type": "catalog", "items": self.shop.list_items()}

    async def purchase(self, connection: Connection, message: Purchase) -> dict[str, Any]:
        result = await self.shop.purchase(
            _wallet(connection), message.item_id, message.idempotency_key
        )
        return {
            "type": "purchase_result",
            "itemId": result.item_id,
            "price": result.price,
            "coins": result.balance,
            "replayed": result.replayed,
        }

    async def equip(self, connection: Connection, message: Equip) -> dict[str, Any]:
        look = await self.shop.equip(_wallet(connection), message.slot, message.item_id)
        return await self._new_look(connection, look)

    async def set_customization(
        self, connection: Connection, message: SetCustomization
    ) -> dict[str, Any]:
        look = await self.shop.set_customization(_wallet(connection), message.customization)
        return await self._new_look(connection, look)

    async def _new_look(self, connection: Connection, look: dict[str, str]) -> dict[str, Any]:
        """Show the room the new look; the reply tells the player."""
        await self.hub.update_look(connection, look)
        return {"type": "customization", "customization": look}

    async def redeem_promo(self, connection: Connection, message: RedeemPromo) -> dict[str, Any]:
        result = await self.promos.redeem(_wallet(connection), message.code)
        return {
            "type": "promo_result",
            "code": result.code,
            "coins": result.coins,
            "items": list(result.items),
            "balance": result.balance,
        }


def register(router: Router, shop: ShopService, promos: PromoService, hub: Hub) -> None:
    handlers = EconomyHandlers(shop, promos, hub)
    router.add("catalog", CatalogRequest, handlers.catalog)
    router.add("purchase", Purchase, handlers.purchase)
    router.add("equip", Equip, handlers.equip)
    router.add("set_customization", SetCustomization, handlers.set_customization)
    router.add("redeem_promo", RedeemPromo, handlers.redeem_promo)
