"""How a service reports what a wallet did to the stamps (services/stamps.py), without
depending on them: a `Report` returns at once and never raises."""

from __future__ import annotations

from collections.abc import Callable

from clubpengu.progression.triggers import StampEvent

Report = Callable[[str, StampEvent], None]


def ignore_event(wallet: str, event: StampEvent) -> None:
    """A Report for services built without stamps (tools, some tests)."""
