"""How a service reports what a wallet did to the stamps (services/stamps.py), without
depending on them: a `Report` returns at once and never raises."""

from __future__ import annotations

from collections.abc import Callable

from clubpengu.progression.triggers import StampEvent

Report = Callable[[str, StampEvent], None]
# Where the rooms a wallet has been in are kept (models/user.py `stamp_progress`): added to
# by the presence update every join and room change already makes, so it costs no write.
ROOMS_VISITED = "room_visited"
ROOMS_VISITED_PATH = f"stampProgress.{ROOMS_VISITED}"


def ignore_event(wallet: str, event: StampEvent) -> None:
    """A Report for services built without stamps (tools, some tests)."""
