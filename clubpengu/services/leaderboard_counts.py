"""The counts behind a board's ranks (models/leaderboard.py `LeaderboardCounts`), pure: a
rank from two count maps, where the top 100 begins, and the `$inc`s that move an entry
from one key to another. Keys are `(wins, ratingKey)`, higher first."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

Key = tuple[int, int]  # (wins, ratingKey)
Counts = Mapping[str, Any]


def by_wins_id(game: str, period: str) -> str:
    return f"{game}|{period}"


def by_rating_id(game: str, period: str, wins: int) -> str:
    return f"{game}|{period}|{wins}"


def ahead(counts: Counts, value: int) -> int:
    """How many entries a count map holds above `value`."""
    return sum(int(n) for key, n in counts.items() if int(key) > value)


def rank(by_wins: Counts, same_wins: Counts, key: Key) -> int:
    """1 + the entries strictly ahead of `key`: those with more wins, and those with as
    many wins and a higher rating. Equal keys share a rank."""
    wins, rating = key
    return 1 + ahead(by_wins, wins) + ahead(same_wins, rating)


@dataclass(frozen=True)
class Cut:
    """Where the top `size` begins: every entry with more than `wins` wins, and those with
    exactly `wins` and a `ratingKey` of at least `rating` (None: all of them)."""

    wins: int
    rating: int | None


def top_wins(by_wins: Counts, size: int) -> tuple[int, bool] | None:
    """The lowest number of wins the top `size` reaches, and whether all entries with it
    are in the top (False: the rating decides among them). None for an empty board."""
    total = 0
    for wins in sorted((int(key) for key, n in by_wins.items() if int(n) > 0), reverse=True):
        count = int(by_wins[str(wins)])
        if total + count >= size:
            return wins, total + count == size
        total += count
    return (min(int(k) for k, n in by_wins.items() if int(n) > 0), True) if total else None


def rating_cut(same_wins: Counts, room: int) -> int | None:
    """The lowest `ratingKey` among the best `room` entries with the same wins."""
    total = 0
    for rating in sorted((int(key) for key, n in same_wins.items() if int(n) > 0), reverse=True):
        total += int(same_wins[str(rating)])
        if total >= room:
            return rating
    return None


def moves(before: Key | None, after: Key) -> dict[str, dict[str, int]]:
    """The `$inc`s, by counts document (`by_wins_id` suffix: "" for the wins map, else the
    wins), that move one entry from `before` (None: new) to `after`."""
    changes: dict[str, dict[str, int]] = {}

    def add(document: str, field: str, delta: int) -> None:
        fields = changes.setdefault(document, {})
        fields[field] = fields.get(field, 0) + delta

    if before is not None:
        add("", str(before[0]), -1)
        add(str(before[0]), str(before[1]), -1)
    add("", str(after[0]), 1)
    add(str(after[0]), str(after[1]), 1)
    return {
        document: {field: delta for field, delta in fields.items() if delta}
        for document, fields in changes.items()
        if any(fields.values())
    }
