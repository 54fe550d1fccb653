"""Per-connection message limits (docs/protocol.md, Conventions: rate_limited, close 1008).

Three token buckets per connection: moves, chat (emotes too: both reach the whole room),
and every other message; and one per client address for every message of all its sockets
(MESSAGE_RATE_PER_IP, across nodes with REDIS_URL: services/message_budget.py; the router
keeps those). A refused message is answered
`rate_limited`; a connection that keeps being refused — at least once a second for
`abuse_seconds` — is closed with 1008, as is one that sends `oversize_count` oversized
frames within `oversize_window` seconds.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from clubpengu.config import Rate, Settings
from clubpengu.services.ratelimit import TokenBucket

# Refusals closer together than this belong to one streak of abuse.
STREAK_GAP_SECONDS = 1.0
OVERSIZE_COUNT = 5
OVERSIZE_WINDOW_SECONDS = 10.0
_CATEGORY = {"move": 0, "chat": 1, "emote": 1}
NO_LIMIT = Rate(0, 1.0)


@dataclass(frozen=True)
class LimitsConfig:
    move: Rate
    chat: Rate
    message: Rate
    abuse_seconds: float
    per_address: Rate = NO_LIMIT  # every message of an address's sockets

    @classmethod
    def from_settings(cls, settings: Settings) -> LimitsConfig:
        return cls(
            settings.move_rate,
            settings.chat_rate,
            settings.message_rate,
            settings.abuse_seconds,
            settings.message_rate_per_ip,
        )


class ConnectionLimits:
    """The buckets and abuse counters of one connection."""

    def __init__(self, config: LimitsConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.abuse_seconds = config.abuse_seconds
        now = clock()
        self._buckets = (
            TokenBucket(config.move.count, config.move.seconds, now),
            TokenBucket(config.chat.count, config.chat.seconds, now),
            TokenBucket(config.message.count, config.message.seconds, now),
        )
        self._streak_start: float | None = None
        self._last_refusal = 0.0
        self._oversized: deque[float] = deque(maxlen=OVERSIZE_COUNT)

    def allow(self, kind: str) -> bool:
        now = self.clock()
        if self._buckets[_CATEGORY.get(kind, 2)].allow(now):
            return True
        self.refused(now)
        return False

    def refused(self, now: float | None = None) -> None:
        """Count a refusal toward the abuse streak (also one for the address's budget)."""
        now = self.clock() if now is None else now
        if self._streak_start is None or now - self._last_refusal > STREAK_GAP_SECONDS:
            self._streak_start = now
        self._last_refusal = now

    @property
    def abusive(self) -> bool:
        """Refused continuously for `abuse_seconds` (checked right after a refusal)."""
        start = self._streak_start
        return start is not None and self._last_refusal - start >= self.abuse_seconds

    def oversized(self) -> bool:
        """Count an oversized frame; True when there have been too many lately."""
        now = self.clock()
        self._oversized.append(now)
        return (
            len(self._oversized) == OVERSIZE_COUNT
            and now - self._oversized[0] <= OVERSIZE_WINDOW_SECONDS
        )
