"""What counts as play, read from the User document alone (no query of its own).

- **Played**: the wallet has spent a coin (every debit: a purchase, a puffle adoption, a
  wager's escrow, so also a wager lost down to a balance of 0) or finished a match (free
  or wagered, any result). What the server gives without play does not count: the daily
  bonus, promo codes, staff grants, items from a promo.
- **Progress** (it closes the in-game migration): played, or a save already brought
  (applied, held, approved or rejected).
- **The daily bonus is due** to a wallet that has played, or whose first sign-in is at
  least DAILY_BONUS_MIN_AGE ago (a day of history): a wallet made a minute ago gets nothing
  until it plays.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from clubpengu.models import User

RESULTS = ("wins", "losses", "draws")


def finished_a_match(user: User) -> bool:
    """Any `stats.games.<game>.wins|losses|draws`, or `stats.computer.<game>.…` against the
    computer (written by every settlement)."""
    extra = user.stats.model_extra or {}
    return any(_counted(extra.get(group)) for group in ("games", "computer"))


def _counted(games: Any) -> bool:
    if not isinstance(games, Mapping):
        return False
    return any(
        isinstance(counts, Mapping) and any(counts.get(result, 0) > 0 for result in RESULTS)
        for counts in games.values()
    )


def has_played(user: User) -> bool:
    return (
        user.stats.economy.total_coins_spent > 0 or user.free_matches > 0 or finished_a_match(user)
    )


def has_progress(user: User) -> bool:
    return user.migrated_at is not None or user.migration_claim is not None or has_played(user)


def bonus_due(user: User, now: datetime, min_age: timedelta) -> bool:
    return has_played(user) or now - user.created_at >= min_age
