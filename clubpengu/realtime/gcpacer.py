"""Full garbage collections between ticks, not in the middle of them.

CPython runs a full (oldest-generation) collection whenever the objects promoted since
the last one exceed a quarter of the long-lived heap: under load every few seconds, at
whatever moment that happens to be. With 1,000 players it is a pause of 40-90 ms, and
one that falls during a tick's fan-out delays every room's batch (it showed in the
benchmark's p99). The pacer turns that trigger off (a huge third threshold) and runs the
full collection itself right after a tick, at most every `interval` seconds and only if
the young generations have been busy: the pause then falls while the next tick's moves
are being gathered, and delays nobody unless it outlasts the tick interval. Young
collections stay automatic. `stop` restores the thresholds it found.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

FULL_COLLECTION_SECONDS = 30.0
_NEVER = 1 << 30


class GcPacer:
    def __init__(
        self,
        interval: float = FULL_COLLECTION_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval = interval
        self.clock = clock
        self.collections = 0
        self._saved: tuple[int, int, int] | None = None
        self._last = clock()

    def start(self) -> None:
        self._saved = gc.get_threshold()
        young, middle, _ = self._saved
        gc.set_threshold(young, middle, _NEVER)

    def stop(self) -> None:
        if self._saved is not None:
            gc.set_threshold(*self._saved)
            self._saved = None

    def after_tick(self) -> bool:
        """Run a full collection if one is due; True if it ran."""
        if self._saved is None:
            return False
        now = self.clock()
        # The third count is the number of middle-generation collections since the last
        # full one; CPython's own trigger needs at least the third threshold of them.
        if now - self._last < self.interval or gc.get_count()[2] < self._saved[2]:
            return False
        gc.collect()
        self._last = now
        self.collections += 1
        return True
