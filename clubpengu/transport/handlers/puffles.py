"""Puffles over the WebSocket (docs/protocol.md §10): adopt, care, walk, release. A
player's walking puffle is in their `<player>` from the join on (services/world.py takes
it from the User), and changed here when they walk another or none."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from clubpengu.models import Puffle
from clubpengu.realtime.connection import Connection
from clubpengu.realtime.hub import Hub, Member
from clubpengu.services.puffles import PuffleService, public, walking_view
from clubpengu.services.stats import StatsBatcher
from clubpengu.transport.handlers import require_wallet
from clubpengu.transport.messages import (
    PuffleAdopt,
    PuffleCare,
    PuffleList,
    PuffleRelease,
    PuffleWalk,
)
from clubpengu.transport.router import Router


def _wallet(connection: Connection) -> str:
    return require_wallet(connection, "Guests keep no puffles; sign in with a wallet")


class PuffleHandlers:
    def __init__(self, puffles: PuffleService, hub: Hub, stats: StatsBatcher) -> None:
        self.service = puffles
        self.hub = hub
        self.stats = stats

    def _view(self, puffle: Puffle) -> dict[str, Any]:
        return public(puffle, self.service.clock())

    async def list(self, connection: Connection, message: PuffleList) -> dict[str, Any]:
        puffles = await self.service.list(_wallet(connection))
        colors = self.service.colors.colors.values()
        return {
            "type": "puffles",
            "puffles": [self._view(p) for p in puffles],
            # What can be adopted, so a client needs no copy of the colours file.
            "colors": [color.model_dump() for color in colors],
            "limit": self.service.limit,
        }

    async def adopt(self, connection: Connection, message: PuffleAdopt) -> dict[str, Any]:
        puffle = await self.service.adopt(_wallet(connection), message.color, message.name)
        return {"type": "puffle_adopted", "puffle": self._view(puffle)}

    def care(self, action: str) -> Callable[[Connection, PuffleCare], Awaitable[dict[str, Any]]]:
        async def handle(connection: Connection, message: PuffleCare) -> dict[str, Any]:
            result = await self.service.care(
                _wallet(connection), message.puffle_id, action, message.item_id
            )
            return {
                "type": "puffle_cared",
                "action": action,
                "puffle": self._view(result.puffle),
                "itemId": result.item_id,
                "remaining": result.remaining,
            }

        return handle

    async def walk(self, connection: Connection, message: PuffleWalk) -> dict[str, Any]:
        puffle = await self.service.walk(_wallet(connection), message.puffle_id)
        await self._show(connection, puffle)
        if puffle is not None:
            self.stats.queue(_wallet(connection), "puffles.walks")
        return {"type": "puffle_walking", "puffle": self._view(puffle) if puffle else None}

    async def release(self, connection: Connection, message: PuffleRelease) -> dict[str, Any]:
        puffle = await self.service.release(_wallet(connection), message.puffle_id)
        if puffle.walking:
            await self._show(connection, None)
        return {"type": "puffle_released", "puffleId": str(puffle.id)}

    async def _show(self, connection: Connection, puffle: Puffle | None) -> None:
        """Put the walking puffle in the player's `<player>` and tell the room."""
        member = self.hub.member(connection)
        if member is not None:
            await self._announce(member, puffle)

    async def _announce(self, member: Member, puffle: Puffle | None) -> None:
        """The room (on every node) sees the puffle walk, now and in `<player>` later."""
        view = walking_view(puffle)
        push = {"type": "puffle_walk", "playerId": member.player_id, "puffle": view}
        await self.hub.set_extra(member, "puffle", view, push)


def register(router: Router, puffles: PuffleService, hub: Hub, stats: StatsBatcher) -> None:
    handlers = PuffleHandlers(puffles, hub, stats)
    router.add("puffles", PuffleList, handlers.list)
    router.add("puffle_adopt", PuffleAdopt, handlers.adopt)
    for action in ("feed", "play", "bathe", "rest"):
        router.add(f"puffle_{action}", PuffleCare, handlers.care(action))
    router.add("puffle_walk", PuffleWalk, handlers.walk)
    router.add("puffle_release", PuffleRelease, handlers.release)
