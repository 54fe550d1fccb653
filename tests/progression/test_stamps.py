"""The stamp catalogue: the packaged file, what a bad file is refused for (naming the entry),
the lookups that award stamps, and splitting migrated ids into known and unknown."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from clubpengu.progression.stamps import (
    MAX_TOTAL_REWARD,
    StampCatalog,
    StampCatalogError,
    load_stamps,
)
from clubpengu.progression.triggers import EVENT_KINDS, ProgressKey, StampEvent
from clubpengu.services.migration_plan import STAMP as MIGRATION_STAMP_ID

ROOMS = frozenset(
    room["id"]
    for room in json.loads(resources.files("clubpengu").joinpath("data", "rooms.json").read_text())[
        "rooms"
    ]
)
GOOD: dict[str, Any] = {
    "id": "first_win",
    "name": "First Victory",
    "description": "Win your first match.",
    "category": "games",
    "difficulty": "easy",
    "reward": 10,
    "trigger": {"event": "match_won", "count": 1},
}


def _write(tmp_path: Path, stamps: list[dict[str, Any]], **top: Any) -> Path:
    path = tmp_path / "stamps.json"
    path.write_text(json.dumps({"version": 1, "stamps": stamps, **top}))
    return path


def _with(**changes: Any) -> dict[str, Any]:
    return {**GOOD, "id": "changed", **changes}


def _catalog(*stamps: dict[str, Any], tmp_path: Path) -> StampCatalog:
    return load_stamps(_write(tmp_path, list(stamps)))


def test_the_packaged_catalogue_loads_with_a_modest_reward_total() -> None:
    catalog = load_stamps()

    assert len(catalog) == 20
    assert catalog.total_reward == 370 <= MAX_TOTAL_REWARD
    assert all(MIGRATION_STAMP_ID.match(stamp.id) for stamp in catalog)


def test_the_packaged_catalogue_has_the_stamps_the_game_loop_promises() -> None:
    keys = {(stamp.trigger.key, stamp.trigger.count) for stamp in load_stamps()}

    expected = {
        ("match_won", 1),
        ("puffle_adopted", 1),
        ("room_visited", "all"),
        ("item_purchased", 1),
        ("chat_sent", 100),
        ("buddy_made", 1),
    }
    for game in ("tictactoe", "connect_four", "card_jitsu"):
        expected |= {(f"match_won:game={game}", 10), (f"match_won:game={game}", 100)}
    expected |= {
        ("match_won:game=connect_four:opponent=computer:level=hard", 1),
        ("match_won:game=card_jitsu:opponent=computer:level=hard", 1),
        # Hard tic-tac-toe never loses: a draw is the best anyone can do against it.
        ("match_drawn:game=tictactoe:opponent=computer:level=hard", 1),
    }
    assert expected <= keys


def test_every_stamp_can_be_earned_by_an_event_the_server_can_report() -> None:
    for stamp in load_stamps():
        trigger = stamp.trigger
        subject = "dojo" if trigger.distinct else None
        event = StampEvent(trigger.event, subject=subject, **trigger.filters())

        assert trigger.matches(event), stamp.id
        assert trigger.event in EVENT_KINDS


def test_a_stamp_is_shown_without_its_trigger() -> None:
    stamp = load_stamps().get("first_win")

    assert stamp is not None
    assert stamp.public() == {
        "id": "first_win",
        "name": "First Victory",
        "description": "Win your first match.",
        "category": "games",
        "difficulty": "easy",
        "reward": 10,
    }


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        (_with(colour="red"), "colour: Extra inputs are not permitted"),
        (_with(id="First_Win"), "id: String should match pattern"),
        (_with(id="1st_win"), "id: String should match pattern"),
        (_with(id="a" * 41), "id: String should match pattern"),
        (_with(name=""), "name: String should have at least 1 character"),
        (_with(reward=-1), "reward: Input should be greater than or equal to 0"),
        (_with(reward=501), "reward: Input should be less than or equal to 500"),
        (_with(reward=True), "reward: Input should be a valid integer"),
        (_with(reward=2.5), "reward: Input should be a valid integer"),
        (_with(difficulty="insane"), "difficulty: Input should be"),
        (_with(category="sports"), "category: Input should be"),
        (_with(trigger={"event": "logged_out", "count": 1}), "trigger: Input tag 'logged_out'"),
        (_with(trigger={"event": "match_won"}), "trigger.match_won.count: Field required"),
        (_with(trigger={"event": "match_won", "count": 0}), "greater than or equal to 1"),
        (_with(trigger={"event": "chat_sent", "count": "all"}), "trigger.chat_sent.count"),
        (
            _with(trigger={"event": "match_won", "count": 1, "game": "chess"}),
            "game 'chess' is not one of card_jitsu, connect_four, tictactoe",
        ),
        (
            _with(trigger={"event": "match_won", "count": 1, "level": "hard"}),
            'a level applies only with "opponent": "computer"',
        ),
        (
            _with(trigger={"event": "match_won", "count": 1, "opponent": "ai"}),
            "trigger.match_won.opponent",
        ),
        (
            _with(trigger={"event": "chat_sent", "count": 5, "game": "tictactoe"}),
            "trigger.chat_sent.game: Extra inputs are not permitted",
        ),
        (
            _with(trigger={"event": "puffle_cared", "count": 5, "action": "walk"}),
            "trigger.puffle_cared.action",
        ),
    ],
)
def test_a_bad_entry_fails_loudly_naming_the_entry(
    tmp_path: Path, entry: dict[str, Any], problem: str
) -> None:
    path = _write(tmp_path, [GOOD, entry])

    with pytest.raises(StampCatalogError) as error:
        load_stamps(path)

    assert str(path) in str(error.value)
    assert f"stamps[1] (id {entry['id']!r})" in str(error.value)
    assert problem in str(error.value)


def test_a_repeated_id_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(StampCatalogError, match="stamp id 'first_win' appears twice"):
        _catalog(GOOD, {**GOOD, "name": "Again"}, tmp_path=tmp_path)


def test_rewards_adding_up_past_the_bound_are_refused(tmp_path: Path) -> None:
    stamps = [{**GOOD, "id": f"stamp_{n}", "reward": 500} for n in range(5)]

    with pytest.raises(StampCatalogError, match="add up to 2500 coins, more than 2000"):
        _catalog(*stamps, tmp_path=tmp_path)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{", "Expecting"),
        ('{"version": 1, "stamps": []}', "stamps: List should have at least 1 item"),
        ('{"version": 1, "stamps": [], "extra": 1}', "stamps: List should have at least 1"),
        (json.dumps({"version": 1, "stamps": [GOOD], "extra": 1}), "extra: Extra inputs are"),
        ('{"stamps": [1]}', "version: Field required"),
        ('[{"id": "x"}]', "Input should be a valid dictionary"),
    ],
)
def test_a_malformed_file_fails_loudly(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "stamps.json"
    path.write_text(text)

    with pytest.raises(StampCatalogError, match=problem):
        load_stamps(path)


def test_a_missing_file_fails_loudly(tmp_path: Path) -> None:
    with pytest.raises(StampCatalogError, match=r"missing\.json"):
        load_stamps(tmp_path / "missing.json")


def test_an_event_advances_each_key_of_the_triggers_it_matches_once() -> None:
    event = StampEvent("match_won", game="tictactoe", opponent="computer", level="hard")

    keys = load_stamps().progress_keys(event)

    assert keys == [
        ProgressKey("match_won", distinct=False),
        ProgressKey("match_won:game=tictactoe", distinct=False),
    ]


def test_a_room_visit_advances_a_distinct_key() -> None:
    keys = load_stamps().progress_keys(StampEvent("room_visited", subject="dojo"))

    assert keys == [ProgressKey("room_visited", distinct=True)]


def test_an_event_no_stamp_asks_for_advances_nothing() -> None:
    event = StampEvent("match_won", game="connect_four", opponent="computer", level="easy")

    keys = load_stamps().progress_keys(StampEvent("match_drawn", game="connect_four"))

    assert keys == []
    assert ProgressKey("match_won:game=connect_four", False) in load_stamps().progress_keys(event)


def test_the_tenth_win_of_a_game_earns_its_stamp_and_the_ninth_does_not() -> None:
    catalog = load_stamps()
    event = StampEvent("match_won", game="tictactoe", opponent="player")

    ninth = catalog.earned(event, {"match_won": 9, "match_won:game=tictactoe": 9}, {"first_win"})
    tenth = catalog.earned(event, {"match_won": 10, "match_won:game=tictactoe": 10}, {"first_win"})

    assert ninth == []
    assert [stamp.id for stamp in tenth] == ["tictactoe_wins_10"]


def test_a_stamp_already_held_is_not_earned_again() -> None:
    catalog = load_stamps()
    event = StampEvent("match_won", game="connect_four", opponent="computer", level="hard")
    progress = {key.key: 1 for key in catalog.progress_keys(event)}

    first = catalog.earned(event, progress, held=[])
    again = catalog.earned(event, progress, held=[stamp.id for stamp in first])

    assert {stamp.id for stamp in first} == {"first_win", "connect_four_hard_win"}
    assert again == []


def test_beating_the_computer_on_easy_does_not_earn_the_hard_stamp() -> None:
    event = StampEvent("match_won", game="connect_four", opponent="computer", level="easy")

    earned = load_stamps().earned(event, {"match_won": 5}, held={"first_win"})

    assert earned == []


def test_the_explorer_stamp_needs_every_room() -> None:
    catalog = load_stamps()
    event = StampEvent("room_visited", subject="dojo")
    all_but_one = set(sorted(ROOMS)[1:])

    short = catalog.earned(event, {"room_visited": all_but_one}, [], {"room_visited": ROOMS})
    done = catalog.earned(event, {"room_visited": set(ROOMS)}, [], {"room_visited": ROOMS})

    assert short == []
    assert [stamp.id for stamp in done] == ["explorer"]


def test_a_world_of_one_room_has_no_explorer_stamp_to_earn() -> None:
    one_room = frozenset({"dojo"})

    earned = load_stamps().earned(
        StampEvent("room_visited", subject="dojo"),
        {"room_visited": {"dojo"}},
        [],
        {"room_visited": one_room},
    )

    assert earned == []


def test_an_every_room_stamp_without_the_room_ids_is_a_caller_bug() -> None:
    with pytest.raises(ValueError, match="room ids"):
        load_stamps().earned(
            StampEvent("room_visited", subject="dojo"), {"room_visited": set()}, []
        )


def test_a_number_of_different_rooms_counts_each_room_once(tmp_path: Path) -> None:
    catalog = _catalog(
        _with(id="three_rooms", trigger={"event": "room_visited", "count": 3}), tmp_path=tmp_path
    )
    event = StampEvent("room_visited", subject="dojo")

    assert catalog.earned(event, {"room_visited": {"dojo", "town"}}, []) == []
    assert len(catalog.earned(event, {"room_visited": {"dojo", "town", "beach"}}, [])) == 1


def test_an_event_kind_no_trigger_knows_is_a_caller_bug() -> None:
    with pytest.raises(ValueError, match="unknown stamp event kind 'match_wins'"):
        StampEvent("match_wins")


def test_a_room_visit_without_its_room_is_a_caller_bug() -> None:
    with pytest.raises(ValueError, match="room_visited event needs its subject"):
        StampEvent("room_visited")


def test_awarding_by_table_lookup_earns_each_stamp_once_over_a_long_history() -> None:
    """What the awarding service does, in memory: advance the progress keys the event
    names, ask which stamps it earns, hold them. 150 wins of each game against people and
    the hard computer, every room twice, 120 chat lines: each stamp comes exactly once."""
    catalog = load_stamps()
    progress: dict[str, Any] = {}
    held: list[str] = []
    events = [StampEvent("signed_in")] + [StampEvent("chat_sent")] * 120
    events += [StampEvent("room_visited", subject=room) for room in sorted(ROOMS) * 2]
    for game in ("tictactoe", "connect_four", "card_jitsu"):
        for opponent, level in [("player", None), ("computer", "hard")] * 75:
            events += [
                StampEvent("match_played", game=game, opponent=opponent, level=level),
                StampEvent("match_won", game=game, opponent=opponent, level=level),
            ]

    for event in events:
        for key in catalog.progress_keys(event):
            if key.distinct:
                progress.setdefault(key.key, set()).add(event.subject)
            else:
                progress[key.key] = progress.get(key.key, 0) + 1
        earned = catalog.earned(event, progress, held, {"room_visited": ROOMS})
        held += [stamp.id for stamp in earned]

    assert len(held) == len(set(held))
    assert set(held) == {
        stamp.id
        for stamp in catalog
        if stamp.trigger.event
        in ("signed_in", "chat_sent", "room_visited", "match_played", "match_won")
    }


def test_migrated_ids_split_into_known_and_unknown_in_order_each_once() -> None:
    split = load_stamps().split_known(
        ["first_win", "party_2019", "explorer", "first_win", "party_2019", "x"]
    )

    assert split.known == ["first_win", "explorer"]
    assert split.unknown == ["party_2019", "x"]


def test_an_empty_migrated_list_splits_into_two_empty_lists() -> None:
    split = load_stamps().split_known([])

    assert (split.known, split.unknown) == ([], [])
