"""Who owns each wallet's live session: the one connection, on one node, that docs/protocol.md §2
lets live ("one live session per wallet across every server node; the newest wins").

A join swaps its connection in as the owner atomically and learns the previous owner,
which it then kicks. Two joins racing each other are ordered by the swap: the second one
learns the first and kicks it, the first learns whoever came before, so exactly one
survives. With one node the store is a dict (`local.LocalOwners`); with Redis it is a key
per wallet swapped with `SET … GET` (`redis.RedisOwners`), so the same rule holds across
nodes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Owner:
    """A connection as the owner store knows it. `boot` tells two runs of the same node
    apart (connection ids restart at each boot); `since_ms` orders claims that had to be
    reconciled after a Redis outage (the newest wins)."""

    node: str
    boot: str
    connection: str
    since_ms: int

    def encode(self) -> str:
        return f"{self.node} {self.boot} {self.connection} {self.since_ms}"

    @classmethod
    def decode(cls, raw: bytes | str | None) -> Owner | None:
        if raw is None:
            return None
        text = raw.decode() if isinstance(raw, bytes) else raw
        parts = text.split(" ")
        if len(parts) != 4 or not parts[3].isdigit():
            return None
        return cls(parts[0], parts[1], parts[2], int(parts[3]))

    def same_connection(self, other: Owner) -> bool:
        return (self.node, self.boot, self.connection) == (
            other.node,
            other.boot,
            other.connection,
        )


@dataclass(frozen=True)
class Reconciled:
    """The outcome of re-asserting one claim after the store came back: `kept` is False
    when a newer owner took the wallet meanwhile; `displaced` is an older owner that was
    replaced (and must be kicked)."""

    wallet: str
    owner: Owner
    kept: bool
    displaced: Owner | None


class OwnersUnavailable(Exception):
    """The shared store cannot be reached; the caller falls back to this node's view."""


class SessionOwners(Protocol):
    # True when owners may live on other nodes (pushes are then routed to them).
    remote: bool

    async def swap(self, wallet: str, owner: Owner, ttl: float) -> Owner | None:
        """Make `owner` the wallet's owner (for `ttl` seconds at most) and return the
        previous one. Raises OwnersUnavailable."""
        ...

    def release(self, wallet: str, owner: Owner) -> None:
        """Forget `owner` if it is still the wallet's owner; never raises, never waits."""
        ...

    def route(self, wallet: str, message: bytes) -> None:
        """Send `message` to the inbox of the node that owns the wallet, if any."""
        ...

    async def reconcile(self, claims: list[tuple[str, Owner, float]]) -> list[Reconciled]:
        """Re-assert (wallet, owner, ttl) claims after an outage; the newest claim wins."""
        ...

    def watch(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Call `callback` each time the store is reachable again after an outage."""
        ...
