"""Who may open a socket: a cap on this node's open sockets (MAX_CONNECTIONS, by default the
process's file limit less headroom) and on each client address's (MAX_CONNECTIONS_PER_IP,
across every node when the counts are shared through Redis; 0 turns it off).

Shared counts fall back to this node's own when Redis cannot answer — an address may then
open its limit on each node — and the log says so once per outage. A socket is released
where it was counted.
"""

from __future__ import annotations

import logging
import resource
from collections import Counter
from enum import Enum

from clubpengu.realtime.counters.base import CountersUnavailable, SharedCounters

logger = logging.getLogger(__name__)
# File descriptors kept back from the sockets: the database pool (MONGODB_MAX_POOL_SIZE,
# 100), Redis, HTTP requests, log files and whatever a library opens.
FD_HEADROOM = 1024
MIN_CONNECTIONS = 64


class Refusal(Enum):
    NODE_FULL = "node_full"  # the node is at MAX_CONNECTIONS
    ADDRESS_FULL = "address_full"  # the address is at MAX_CONNECTIONS_PER_IP


def default_max_connections() -> int:
    """The soft file limit less FD_HEADROOM (at least half of it, and at least 64): one
    descriptor a socket, with room for everything else the process opens."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        soft = 1 << 20
    return max(MIN_CONNECTIONS, soft - FD_HEADROOM, soft // 2)


class Admission:
    def __init__(
        self,
        max_connections: int,
        per_address: int,
        shared: SharedCounters | None = None,
    ) -> None:
        self.max_connections = max_connections
        self.per_address = per_address
        self.shared = shared
        self.open = 0
        self._local: Counter[str] = Counter()
        self._shared_members: dict[str, str] = {}  # connection id → address, counted shared
        self._shared_down = False

    async def admit(self, address: str, connection_id: str) -> Refusal | None:
        """Count the socket in, or say why not (nothing is counted then)."""
        if self.open >= self.max_connections:
            return Refusal.NODE_FULL
        if self.per_address > 0 and not await self._admit_address(address, connection_id):
            return Refusal.ADDRESS_FULL
        self.open += 1
        return None

    def release(self, address: str, connection_id: str) -> None:
        """The socket admitted for `address` has closed."""
        self.open = max(0, self.open - 1)
        if self.per_address <= 0:
            return
        if self._shared_members.pop(connection_id, None) is not None and self.shared is not None:
            self.shared.close(address, connection_id)
            return
        self._local[address] -= 1
        if self._local[address] <= 0:
            del self._local[address]

    async def refresh(self) -> None:
        """Keep this node's shared counts from lapsing (a periodic task)."""
        if self.shared is not None and self._shared_members:
            members = [(address, cid) for cid, address in self._shared_members.items()]
            await self.shared.refresh(members)

    async def _admit_address(self, address: str, connection_id: str) -> bool:
        if self.shared is not None:
            try:
                counted = await self.shared.open(address, connection_id, self.per_address)
            except CountersUnavailable as error:
                self._note_down(error)
            else:
                self._note_up()
                if counted:
                    self._shared_members[connection_id] = address
                return counted
        if self._local[address] >= self.per_address:
            return False
        self._local[address] += 1
        return True

    def _note_down(self, error: CountersUnavailable) -> None:
        if not self._shared_down:
            self._shared_down = True
            logger.warning(
                "shared address counts unreachable; counting this node's sockets only",
                extra={"error": str(error)},
            )

    def _note_up(self) -> None:
        if self._shared_down:
            self._shared_down = False
            logger.info("shared address counts reachable again")
