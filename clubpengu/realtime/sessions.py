"""One live session per wallet (PROTOCOL.md §2, seed 000 §5.1), and session revocation.

The newest connection of a wallet wins. A join publishes a `kick` event on the bus; every
node (this one included, through the same path) closes its other connections of that
wallet with `kicked` + 4001. A revoked session is published as `revoke`; whichever node
holds a connection of that session closes it with 4003. Routing both through the bus is
what lets a Redis bus carry them across nodes without changing the callers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from clubpengu.errors import CloseCode
from clubpengu.realtime.bus.base import EventBus
from clubpengu.realtime.connection import Connection

logger = logging.getLogger(__name__)

KICK_CHANNEL = "session:kick"
REVOKE_CHANNEL = "session:revoke"
KICKED_OTHER_SESSION = "KICKED_OTHER_SESSION"


class SessionRegistry:
    """Local connections by wallet. Events this node publishes are applied locally at once
    (so an older session is out of its room before the newer one is seated) and ignored
    when the bus echoes them back; other nodes apply them on receipt."""

    def __init__(self, bus: EventBus, node_id: str) -> None:
        self.bus = bus
        self.node_id = node_id
        self._by_wallet: defaultdict[str, set[Connection]] = defaultdict(set)
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        ready = [asyncio.Event(), asyncio.Event()]
        self._tasks = [
            asyncio.create_task(self._listen(KICK_CHANNEL, self._on_kick, ready[0])),
            asyncio.create_task(self._listen(REVOKE_CHANNEL, self._on_revoke, ready[1])),
        ]
        await asyncio.gather(*(event.wait() for event in ready))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def claim(self, connection: Connection) -> None:
        """Register `connection` as its wallet's live session and kick every other one."""
        assert connection.wallet is not None
        self._by_wallet[connection.wallet].add(connection)
        event = {"wallet": connection.wallet, "keep": connection.id, "node": self.node_id}
        await self._on_kick(event)
        await self.bus.publish(KICK_CHANNEL, orjson.dumps(event))

    def release(self, connection: Connection) -> None:
        if connection.wallet is None:
            return
        live = self._by_wallet.get(connection.wallet)
        if live is not None:
            live.discard(connection)
            if not live:
                del self._by_wallet[connection.wallet]

    def live(self, wallet: str) -> list[Connection]:
        return list(self._by_wallet.get(wallet, ()))

    async def revoke(self, session_id: str, keep: str | None = None) -> None:
        """Close every connection of the session (but `keep`) with 4003, on every node."""
        event = {"sid": session_id, "keep": keep, "node": self.node_id}
        await self._on_revoke(event)
        await self.bus.publish(REVOKE_CHANNEL, orjson.dumps(event))

    async def _listen(
        self,
        channel: str,
        handle: Callable[[dict[str, Any]], Awaitable[None]],
        ready: asyncio.Event,
    ) -> None:
        async with self.bus.subscribe(channel) as messages:
            ready.set()
            async for raw in messages:
                try:
                    event = orjson.loads(raw)
                    if event.get("node") != self.node_id:
                        await handle(event)
                except Exception:
                    logger.exception("session event failed", extra={"channel": channel})

    async def _on_kick(self, event: dict[str, Any]) -> None:
        for connection in self.live(event["wallet"]):
            if connection.id != event["keep"]:
                self.release(connection)
                connection.send({"type": "kicked", "reason": KICKED_OTHER_SESSION})
                await connection.close(CloseCode.CLOSE_4001_REPLACED, "replaced by a newer session")

    async def _on_revoke(self, event: dict[str, Any]) -> None:
        for connections in list(self._by_wallet.values()):
            for connection in list(connections):
                if connection.session_id == event["sid"] and connection.id != event["keep"]:
                    await connection.close(CloseCode.CLOSE_4003_SESSION_ENDED, "session revoked")
