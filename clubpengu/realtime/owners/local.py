"""The session owners of a single node, with no Redis: this process's dict."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from clubpengu.realtime.owners.base import Owner, Reconciled


class LocalOwners:
    """One node, no Redis: the owners are this process's dict."""

    remote = False

    def __init__(self) -> None:
        self._owners: dict[str, Owner] = {}

    async def swap(self, wallet: str, owner: Owner, ttl: float) -> Owner | None:
        previous = self._owners.get(wallet)
        self._owners[wallet] = owner
        return previous

    def release(self, wallet: str, owner: Owner) -> None:
        if self._owners.get(wallet) == owner:
            del self._owners[wallet]

    def route(self, wallet: str, message: bytes) -> None:
        return None  # every owner is on this node: there is nowhere else to send it

    async def reconcile(self, claims: list[tuple[str, Owner, float]]) -> list[Reconciled]:
        return [Reconciled(wallet, owner, True, None) for wallet, owner, _ in claims]

    def watch(self, callback: Callable[[], Awaitable[None]]) -> None:
        return None  # never unreachable
