"""Buddies and ignore lists over the WebSocket (docs/protocol.md, "Buddies"): requests,
answers, withdrawing a request, the list with who is online where, finding a buddy,
ignoring. The rules are the buddy service's (services/buddies.py)."""

from __future__ import annotations

from typing import Any

from clubpengu.errors import InvalidMessage, NotFound
from clubpengu.realtime.connection import Connection
from clubpengu.realtime.hub import Hub
from clubpengu.realtime.instances import exact_name
from clubpengu.services.auth import decode_wallet
from clubpengu.services.buddies import BuddyService
from clubpengu.transport import render
from clubpengu.transport.handlers import require_wallet
from clubpengu.transport.messages import Buddies, BuddyRequestFrame, BuddyWallet
from clubpengu.transport.router import Router

GUESTS = "Guests have no buddies; sign in with a wallet"


def _wallet(connection: Connection) -> str:
    return require_wallet(connection, GUESTS)


def _checked(wallet: str) -> str:
    if decode_wallet(wallet) is None:
        raise InvalidMessage("walletAddress: not a Solana wallet address")
    return wallet


class BuddyHandlers:
    def __init__(self, buddies: BuddyService, hub: Hub) -> None:
        self.buddies = buddies
        self.hub = hub

    async def request(self, connection: Connection, message: BuddyRequestFrame) -> dict[str, Any]:
        sender = _wallet(connection)
        if message.wallet_address is not None:
            target = _checked(message.wallet_address)
        elif message.player_id is not None:
            target = await self._in_room(connection, message.player_id)
        else:
            raise InvalidMessage("walletAddress or playerId: one is required")
        outcome = await self.buddies.request(sender, target)
        if outcome.added is not None:
            return {"type": "buddy_added", "buddy": render.buddy(outcome.added)}
        return {"type": "buddy_request_sent", "walletAddress": outcome.target}

    async def _in_room(self, connection: Connection, player_id: str) -> str:
        """The wallet of a player in the sender's room, on any node. Raises NotInRoom,
        NotFound (no such player there, or a guest)."""
        player = await self.hub.player_in_room(connection, player_id)
        wallet = player.get("walletAddress")
        if not wallet:
            raise NotFound("Guests have no buddies")
        return str(wallet)

    async def accept(self, connection: Connection, message: BuddyWallet) -> dict[str, Any]:
        found = await self.buddies.accept(_wallet(connection), _checked(message.wallet_address))
        return {"type": "buddy_added", "buddy": render.buddy(found)}

    async def decline(self, connection: Connection, message: BuddyWallet) -> dict[str, Any]:
        other = _checked(message.wallet_address)
        await self.buddies.decline(_wallet(connection), other)
        return {"type": "buddy_declined", "walletAddress": other}

    async def withdraw(self, connection: Connection, message: BuddyWallet) -> dict[str, Any]:
        other = _checked(message.wallet_address)
        await self.buddies.withdraw(_wallet(connection), other)
        return {"type": "buddy_request_withdrawn", "walletAddress": other}

    async def remove(self, connection: Connection, message: BuddyWallet) -> dict[str, Any]:
        other = _checked(message.wallet_address)
        await self.buddies.remove(_wallet(connection), other)
        return {"type": "buddy_removed", "walletAddress": other}

    async def listing(self, connection: Connection, message: Buddies) -> dict[str, Any]:
        return render.buddies(await self.buddies.listing(_wallet(connection)))

    async def find(self, connection: Connection, message: BuddyWallet) -> dict[str, Any]:
        found = await self.buddies.find(_wallet(connection), _checked(message.wallet_address))
        frame = {"type": "buddy_found", **render.buddy(found)}
        if found.online and found.room is not None:
            frame["follow"] = exact_name(found.room)  # for change_room: that instance only
        return frame

    async def ignore(self, connection: Connection, message: BuddyWallet) -> dict[str, Any]:
        other = _checked(message.wallet_address)
        await self.buddies.ignore(_wallet(connection), other)
        return {"type": "ignored", "walletAddress": other}

    async def unignore(self, connection: Connection, message: BuddyWallet) -> dict[str, Any]:
        other = _checked(message.wallet_address)
        await self.buddies.unignore(_wallet(connection), other)
        return {"type": "unignored", "walletAddress": other}


def register(router: Router, buddies: BuddyService, hub: Hub) -> None:
    handlers = BuddyHandlers(buddies, hub)
    router.add("buddy_request", BuddyRequestFrame, handlers.request)
    router.add("buddy_accept", BuddyWallet, handlers.accept)
    router.add("buddy_decline", BuddyWallet, handlers.decline)
    router.add("buddy_withdraw", BuddyWallet, handlers.withdraw)
    router.add("buddy_remove", BuddyWallet, handlers.remove)
    router.add("buddies", Buddies, handlers.listing)
    router.add("find_buddy", BuddyWallet, handlers.find)
    router.add("ignore", BuddyWallet, handlers.ignore)
    router.add("unignore", BuddyWallet, handlers.unignore)
