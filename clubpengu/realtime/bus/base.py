"""The EventBus protocol, in the style of encode/broadcaster's backends.

Messages are bytes (the publisher serialises once). Delivery is at-most-once, like Redis
pub/sub: nothing durable may depend on the bus; MongoDB stays the source of truth.
`publish` never raises into its caller and never waits on a network round trip (a Redis
bus queues the message and drops it, counted, while Redis is unreachable); `subscribe`
never fails either (a Redis bus subscribes again by itself after a reconnect).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Protocol


class EventBus(Protocol):
    async def connect(self) -> None: ...

    async def disconnect(self) -> None: ...

    async def publish(self, channel: str, message: bytes) -> None: ...

    def subscribe(self, channel: str) -> AbstractAsyncContextManager[AsyncIterator[bytes]]:
        """`async with bus.subscribe("kick") as messages: async for m in messages: ...`"""
        ...

    async def healthy(self) -> bool:
        """True while messages can cross to other nodes (always, for the in-memory bus)."""
        ...
