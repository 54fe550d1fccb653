"""GroupWriter: small writes of many players made as one database command.

Group commit: an item submitted while no write is in flight is written at once, alone;
items submitted while one is in flight wait for it and are then written together, in the
order they came, in one command. An idle node pays no added latency; under a sign-in storm
a hundred presence updates a second become a few bulk writes a second, each paying the
command's fixed cost (driver, wire, SecantusDB's dispatch) once.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass
class _Group(Generic[T]):
    items: list[T] = field(default_factory=list)
    done: asyncio.Future[None] | None = None  # made when someone waits for this group
    sealed: bool = False  # being written: later items go into the next group


class GroupWriter(Generic[T]):
    """Writes submitted items with `write(items)`, at most `max_group` per call, in order.

    `submit(item)` waits until the item's group is written and raises what `write` raised
    for it; `submit_nowait(item)` returns at once (a failed group is then only logged).
    Not thread-safe: call from the event loop's thread.
    """

    def __init__(
        self, write: Callable[[list[T]], Awaitable[None]], *, name: str, max_group: int = 1000
    ) -> None:
        self._write = write
        self._name = name
        self._max_group = max_group
        self._groups: deque[_Group[T]] = deque()
        self._writer: asyncio.Task[None] | None = None
        self.writes = 0
        self.written = 0

    @property
    def pending(self) -> int:
        """Items submitted and not yet written (the group in flight included)."""
        return sum(len(group.items) for group in self._groups)

    async def submit(self, item: T, within: float | None = None) -> bool:
        """Wait until the item's group is written, at most `within` seconds if given: then
        False, and the write goes on without the caller. Raises what `write` raised."""
        group = self._add(item)
        if group.done is None:
            group.done = asyncio.get_running_loop().create_future()
        # Shielded: a caller that gives up must not cancel the group the others wait for.
        try:
            async with asyncio.timeout(within):
                await asyncio.shield(group.done)
        except TimeoutError:
            return False
        return True

    def submit_nowait(self, item: T) -> None:
        self._add(item)

    def submit_later(self, item: T) -> asyncio.Future[None]:
        """Submit without waiting; the future is done when the item's group is written
        (its exception, if the write failed, counts as retrieved: await it or not)."""
        group = self._add(item)
        if group.done is None:
            group.done = asyncio.get_running_loop().create_future()
        return group.done

    async def flush(self, within: float | None = None) -> bool:
        """Wait until everything submitted so far is written (or failed), at most `within`
        seconds; False when that was not enough."""
        writer = self._writer
        if writer is None or writer.done():
            return True
        done, _ = await asyncio.wait([writer], timeout=within)
        return bool(done)

    def _add(self, item: T) -> _Group[T]:
        last = self._groups[-1] if self._groups else None
        if last is None or last.sealed or len(last.items) >= self._max_group:
            self._groups.append(_Group())
        group = self._groups[-1]
        group.items.append(item)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(
                self._write_groups(), name=f"group-writer-{self._name}"
            )
        return group

    async def _write_groups(self) -> None:
        while self._groups:
            group = self._groups[0]
            group.sealed = True
            try:
                await self._write(group.items)
            except asyncio.CancelledError:
                self._groups.popleft()
                if group.done is not None:
                    group.done.cancel()
                raise
            except Exception as error:
                self._groups.popleft()
                # Logged here too: a caller may have stopped waiting (`within`).
                logger.warning(
                    "%s: %d writes failed", self._name, len(group.items),
                    extra={"error": type(error).__name__},
                )  # fmt: skip
                if group.done is not None:
                    group.done.set_exception(error)
                    group.done.exception()  # retrieved: a caller that gave up is no error
            else:
                self._groups.popleft()
                self.writes += 1
                self.written += len(group.items)
                if group.done is not None:
                    group.done.set_result(None)
