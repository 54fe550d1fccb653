"""The active matches one node holds in memory, so a move skips the read before its write.

Why a stale entry is safe: every move writes with `{_id, version: v, status: active}` in
its filter, v being the version of the entry it was computed from. If another node (or
a settlement, or a restart) changed the match, that write matches nothing, the service
drops the entry, reads the match again and re-applies the move; and a move the cached
state refuses is checked against a fresh read before it is refused. So the database
stays the arbiter and the cache only saves round trips.

Entries are never mutated: a move stores the new Match object it built.
"""

from __future__ import annotations

from collections import OrderedDict

from clubpengu.models import Match, MatchStatus


class MatchCache:
    """At most `size` active matches by id, least recently used dropped first; size 0
    keeps nothing (every move reads)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[str, Match] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, match_id: str) -> Match | None:
        match = self._entries.get(match_id)
        if match is not None:
            self._entries.move_to_end(match_id)
        return match

    def put(self, match: Match) -> None:
        """Hold `match` unless it has ended or an entry at a later version is held (a slow
        read must not replace what a move just wrote)."""
        key = str(match.id)
        if self.size <= 0 or match.status != MatchStatus.ACTIVE:
            self._entries.pop(key, None)
            return
        held = self._entries.get(key)
        if held is not None and held.version > match.version:
            return
        self._entries[key] = match
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def discard(self, match_id: str) -> None:
        self._entries.pop(match_id, None)
