"""The counts behind a board's ranks, without a database: ranks against a brute-force
count, where the top begins, and the moves of an entry between keys."""

from __future__ import annotations

import random
from collections import Counter

from clubpengu.services.leaderboard_counts import moves, rank, rating_cut, top_wins


def _maps(keys: list[tuple[int, int]]) -> tuple[dict[str, int], dict[int, dict[str, int]]]:
    by_wins = Counter(str(wins) for wins, _ in keys)
    same: dict[int, Counter[str]] = {}
    for wins, rating in keys:
        same.setdefault(wins, Counter())[str(rating)] += 1
    return dict(by_wins), {wins: dict(counts) for wins, counts in same.items()}


def test_ranks_from_the_counts_match_a_brute_force_count() -> None:
    rng = random.Random(7)
    keys = [(rng.randint(0, 6), rng.choice([1400, 1450, 1500])) for _ in range(300)]
    by_wins, same = _maps(keys)

    for key in set(keys):
        assert rank(by_wins, same[key[0]], key) == 1 + sum(other > key for other in keys)


def test_the_top_begins_where_the_counts_reach_its_size() -> None:
    by_wins = {"9": 2, "5": 3, "3": 10, "0": 50}

    assert top_wins(by_wins, 5) == (5, True)
    assert top_wins(by_wins, 6) == (3, False)
    assert top_wins(by_wins, 100) == (0, True)
    assert top_wins({}, 100) is None and top_wins({"4": 0}, 100) is None
    assert rating_cut({"1500": 4, "1490": 3, "1400": 9}, 5) == 1490


def test_an_entry_moving_keys_moves_its_counts() -> None:
    assert moves(None, (1, 1662)) == {"": {"1": 1}, "1": {"1662": 1}}
    assert moves((1, 1662), (2, 1700)) == {
        "": {"1": -1, "2": 1}, "1": {"1662": -1}, "2": {"1700": 1}
    }  # fmt: skip
    assert moves((2, 1700), (2, 1690)) == {"2": {"1700": -1, "1690": 1}}
