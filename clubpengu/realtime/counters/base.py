"""What the per-address limits need from counters shared by every node: a token bucket, a
count of open sockets, and counts of messages per window — each answered in one round trip.
A backend raises `CountersUnavailable` when it cannot answer; the callers then count on
this node alone (realtime/admission.py, services/ratelimit.py, services/message_budget.py)
and say so in the log."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol


class CountersUnavailable(Exception):
    """The shared counters could not be reached or did not answer in time."""


class SharedCounters(Protocol):
    async def take(self, key: str, rate: float, per: float) -> bool:
        """One token from the bucket `key` (`rate` per `per` seconds, bursts of `rate`);
        False when it is empty."""
        ...

    async def open(self, key: str, member: str, limit: int) -> bool:
        """Count `member` (a connection) as open under `key` if fewer than `limit` are;
        False when `limit` are already open."""
        ...

    def close(self, key: str, member: str) -> None:
        """`member` is closed (sent in the background: a close never waits)."""
        ...

    async def refresh(self, members: Iterable[tuple[str, str]]) -> None:
        """Keep `(key, member)` counted: an open member not refreshed for a while is taken
        for closed (its node died without saying so)."""
        ...

    async def add_messages(
        self, counts: Mapping[str, int], window: float
    ) -> tuple[dict[str, int], float]:
        """Add `counts` (messages per key let through by this node) to each key's count of
        the current window of `window` seconds, the same windows on every node. Returns
        each key's total on every node and the seconds left in the window."""
        ...
