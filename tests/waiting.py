"""Waiting in tests: for something to happen (`eventually`, `wait_until`), and for long
enough to show that something does NOT happen (`stays`, `silent`, the one bound
`NOTHING_WITHIN`). No test waits a fixed time for a condition it could ask about."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from tests.support import Client

T = TypeVar("T")

WAIT = 5.0  # seconds `eventually` waits unless told: long enough for a loaded machine
POLL = 0.02  # seconds between two looks: short against every bound it serves

# How long a test watches to show that something does NOT happen: no frame, no second
# kick, no late write. What it waits out is work the server has already been handed (a
# reply or push for a message it acknowledged, the hooks of a socket it closed), which
# takes milliseconds; 0.3 s is two orders of magnitude more on an idle machine and still
# leaves a loaded two-core one room. A longer bound would only slow the suite: it is
# waited out in full every time the test passes.
NOTHING_WITHIN = 0.3


class ConditionNotMet(AssertionError):
    """`eventually` or `wait_until` ran out of time; the message names the condition."""


async def eventually(
    check: Callable[[], T | Awaitable[T]],
    what: str = "",
    *,
    ready: Callable[[T], object] | None = None,
    timeout: float = WAIT,
    every: float = POLL,
) -> T:
    """Call `check` (a function, or one returning an awaitable) until its result is truthy,
    or `ready(result)` is when given, and return that result. Raises ConditionNotMet naming
    `what` (or the check's source) and the last result after `timeout` seconds, the time
    `check` takes included."""
    result: Any = None
    try:
        async with asyncio.timeout(timeout):
            while True:
                result = check()
                if inspect.isawaitable(result):
                    result = await result
                if ready(result) if ready is not None else result:
                    return result  # type: ignore[no-any-return]
                await asyncio.sleep(every)
    except TimeoutError:
        raise ConditionNotMet(_failure(check, what, timeout, result)) from None


def wait_until(
    check: Callable[[], T], what: str = "", *, timeout: float = WAIT, every: float = POLL
) -> T:
    """`eventually` for blocking code (a test or fixture with no event loop running)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise ConditionNotMet(_failure(check, what, timeout, result))
        time.sleep(every)


async def stays(
    check: Callable[[], Any], within: float = NOTHING_WITHIN, *, every: float = POLL
) -> bool:
    """True when `check` (a function, or one returning an awaitable) holds at every look
    for `within` seconds; False as soon as it does not (so a failure shows at once)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if not result:
            return False
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            return True
        await asyncio.sleep(min(every, left))


async def silent(client: Client, within: float = NOTHING_WITHIN, kind: str | None = None) -> bool:
    """True when no frame (of type `kind`, if given) reaches `client` within `within`
    seconds; False at the first one that does."""
    try:
        async with asyncio.timeout(within):
            while True:
                frame = await client.recv(within)
                if kind is None or frame.get("type") == kind:
                    return False
    except TimeoutError:
        return True


def _failure(check: Callable[[], Any], what: str, timeout: float, result: Any) -> str:
    last = repr(result)
    if len(last) > 300:
        last = last[:300] + "…"
    return f"not within {timeout} s: {what or _source(check)} (last result: {last})"


def _source(check: Callable[[], Any]) -> str:
    """A lambda as written (its line), or the function's name."""
    name = getattr(check, "__qualname__", None)
    if name is None or not name.endswith("<lambda>"):
        return name or repr(check)
    try:
        return " ".join(inspect.getsource(check).split())
    except OSError:
        return name
