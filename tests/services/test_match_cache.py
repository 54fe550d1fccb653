"""The per-node cache of active matches: bounded, never older than what it holds, and
never holding a match that ended."""

from __future__ import annotations

from bson import ObjectId

from clubpengu.models import Match, MatchPlayer, MatchStatus
from clubpengu.services.match_cache import MatchCache


def _match(version: int = 0, match_id: ObjectId | None = None) -> Match:
    players = [MatchPlayer(wallet_address=w, username=w) for w in ("a", "b")]
    return Match(
        id=match_id or ObjectId(), game="tictactoe", players=players, wallets=["a", "b"],
        version=version,
    )  # fmt: skip


def test_the_least_recently_used_match_goes_first() -> None:
    cache = MatchCache(2)
    first, second, third = _match(), _match(), _match()
    cache.put(first)
    cache.put(second)

    assert cache.get(str(first.id)) is first  # now the most recently used
    cache.put(third)

    assert cache.get(str(second.id)) is None
    assert cache.get(str(first.id)) is first and cache.get(str(third.id)) is third
    assert len(cache) == 2


def test_an_older_version_never_replaces_a_newer_one() -> None:
    cache = MatchCache(10)
    match_id = ObjectId()
    newer, older = _match(3, match_id), _match(2, match_id)

    cache.put(newer)
    cache.put(older)

    assert cache.get(str(match_id)) is newer


def test_an_ended_match_is_dropped_and_size_0_holds_nothing() -> None:
    cache, off = MatchCache(10), MatchCache(0)
    match = _match()
    cache.put(match)
    off.put(match)

    cache.put(match.model_copy(update={"status": MatchStatus.COMPLETED}))

    assert cache.get(str(match.id)) is None and len(off) == 0
