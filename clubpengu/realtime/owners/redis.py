"""Session owners in Redis: one key per wallet (`session:<wallet>`, realtime/names.py) holding
its live connection as `<node> <boot> <connection> <claimed at, ms>`.

- A join swaps itself in with `SET key value PX ttl GET`, atomic in Redis: of two racing
  joins on two nodes, the second learns the first and kicks it (realtime/sessions.py).
- A leave deletes the key only if it still names the leaving connection (compare and
  delete in a script), queued on the bus's outbox so a close never waits on Redis.
- A push for a wallet with no connection here runs a script that reads the owner and
  publishes to that node's inbox in the same step (one round trip, in the outbox's order).
- After an outage each node re-asserts its claims with a script that keeps the newest
  claim (by claim time) and reports whether ours was kept and whom it displaced. Redis may
  have restarted empty (the compose file runs it without persistence): this puts the
  owners back.

The TTL is the token's remaining life: a connection is closed when its token expires, so
a key never outlives the connection it names; a crashed node's keys go away by themselves.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from clubpengu.realtime.bus.backends.redis import RedisBus
from clubpengu.realtime.lua import read_script
from clubpengu.realtime.names import node_channel, session_key
from clubpengu.realtime.owners.base import Owner, OwnersUnavailable, Reconciled

RELEASE = read_script("clubpengu.realtime.owners", "release.lua")
ROUTE = read_script("clubpengu.realtime.owners", "route.lua")
RECONCILE = read_script("clubpengu.realtime.owners", "reconcile.lua")


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


class RedisOwners:
    remote = True

    def __init__(self, bus: RedisBus) -> None:
        self.bus = bus
        self._inbox_prefix = node_channel("")

    async def swap(self, wallet: str, owner: Owner, ttl: float) -> Owner | None:
        if not self.bus.up:
            raise OwnersUnavailable("redis is down")
        try:
            async with asyncio.timeout(self.bus.timeout):
                previous = await self.bus.client.set(
                    session_key(wallet), owner.encode(), px=_ms(ttl), get=True
                )
        except Exception as error:
            raise OwnersUnavailable(type(error).__name__) from error
        return Owner.decode(previous) if isinstance(previous, bytes | str) else None

    def release(self, wallet: str, owner: Owner) -> None:
        self.bus.send("EVAL", RELEASE, 1, session_key(wallet), owner.encode())

    def route(self, wallet: str, message: bytes) -> None:
        self.bus.send("EVAL", ROUTE, 1, session_key(wallet), message, self._inbox_prefix)

    async def reconcile(self, claims: list[tuple[str, Owner, float]]) -> list[Reconciled]:
        if not claims:
            return []
        pipe = self.bus.client.pipeline(transaction=False)
        for wallet, owner, ttl in claims:
            args: list[Any] = [owner.encode(), owner.since_ms, _ms(ttl)]
            pipe.execute_command("EVAL", RECONCILE, 1, session_key(wallet), *args)
        async with asyncio.timeout(self.bus.timeout):
            results = await pipe.execute()
        return [
            Reconciled(wallet, owner, bool(kept), Owner.decode(other or None) if kept else None)
            for (wallet, owner, _), (kept, other) in zip(claims, results, strict=True)
        ]

    def watch(self, callback: Callable[[], Awaitable[None]]) -> None:
        self.bus.on_reconnect.append(callback)
