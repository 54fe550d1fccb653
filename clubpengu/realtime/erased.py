"""The wallets this node lately learned are being erased (services/erasure.py): the late
writes of their closing connections (a leave's event, a chat line still batched) are
dropped rather than written after the erasure deleted the rest.

Held for HOLD seconds after the node learns of the erasure (the bus's `erase`, or the
erasure sweep), or until the wallet signs in again (as a new player, once the erasure is
done: sign-in is refused while it runs).
"""

from __future__ import annotations

import time
from collections.abc import Callable

HOLD = 60.0


class ErasedWallets:
    def __init__(self, hold: float = HOLD, clock: Callable[[], float] = time.monotonic) -> None:
        self.hold = hold
        self.clock = clock
        self._until: dict[str, float] = {}

    def add(self, wallet: str) -> None:
        now = self.clock()
        self._until = {w: t for w, t in self._until.items() if t > now}
        self._until[wallet] = now + self.hold

    def discard(self, wallet: str) -> None:
        self._until.pop(wallet, None)

    def __contains__(self, wallet: object) -> bool:
        until = self._until.get(wallet) if isinstance(wallet, str) else None
        return until is not None and until > self.clock()

    def __bool__(self) -> bool:
        return bool(self._until)
