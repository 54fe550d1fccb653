"""Reconnect grace: a player whose connection dropped keeps their place for a while.

A dropped member stays in its room (the others see nothing) and is parked here under its
wallet. If the wallet joins again before the grace ends, `take` hands the member back, with
its player id and position; otherwise `expire` runs (leave the room, record presence).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from clubpengu.realtime.hub import Member

logger = logging.getLogger(__name__)


Expire = Callable[[Member], Awaitable[None]]


class ReconnectGrace:
    """`expire` is set by whoever owns what a leave means (the world handlers write
    presence); until then an ended grace only takes the member out of nothing."""

    def __init__(self, seconds: float, expire: Expire | None = None) -> None:
        self.seconds = seconds
        self.expire = expire
        self._parked: dict[str, tuple[Member, asyncio.TimerHandle]] = {}
        self._running: set[asyncio.Task[None]] = set()

    def __len__(self) -> int:
        return len(self._parked)

    def __contains__(self, wallet: str) -> bool:
        return wallet in self._parked

    def park(self, wallet: str, member: Member, seconds: float | None = None) -> None:
        """Keep `member` for `seconds` (default: the grace); a member already parked for the
        wallet is expired now (only one place per wallet)."""
        earlier = self._parked.pop(wallet, None)
        if earlier is not None:
            earlier[1].cancel()
            self._spawn(earlier[0])
        delay = self.seconds if seconds is None else seconds
        handle = asyncio.get_running_loop().call_later(delay, self._fire, wallet)
        self._parked[wallet] = (member, handle)

    def peek(self, wallet: str) -> Member | None:
        """The wallet's parked member, left parked."""
        entry = self._parked.get(wallet)
        return entry[0] if entry is not None else None

    def take(self, wallet: str, connection_id: str | None = None) -> Member | None:
        """The wallet's parked member, no longer parked; None if there is none (or if
        `connection_id` is given and the member was parked from another connection)."""
        entry = self._parked.get(wallet)
        if entry is None or (connection_id and entry[0].connection.id != connection_id):
            return None
        del self._parked[wallet]
        entry[1].cancel()
        return entry[0]

    def _fire(self, wallet: str) -> None:
        entry = self._parked.pop(wallet, None)
        if entry is not None:
            self._spawn(entry[0])

    def _spawn(self, member: Member) -> None:
        # A hard reference until it has run (the loop keeps only weak ones).
        task = asyncio.create_task(self._run(member), name=f"grace-{member.player_id}")
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _run(self, member: Member) -> None:
        if self.expire is None:
            logger.error("reconnect grace ended with no expiry handler")
            return
        try:
            await self.expire(member)
        except Exception:
            logger.exception("grace expiry failed", extra={"player": member.player_id})

    async def expire_all(self) -> None:
        """End every grace now (shutdown): leaves and presence are written before exit."""
        parked, self._parked = self._parked, {}
        for member, handle in parked.values():
            handle.cancel()
            await self._run(member)
        if self._running:
            with contextlib.suppress(Exception):
                await asyncio.gather(*self._running, return_exceptions=True)
