"""The one name policy (services/names.py): what a username and a puffle name may be."""

from __future__ import annotations

import pytest

from clubpengu.config import DEFAULT_CHAT_FILTER_WORDS
from clubpengu.errors import InvalidMessage
from clubpengu.services.names import NamePolicy, default_username, suffixed
from clubpengu.wordfilter import WordFilter

POLICY = NamePolicy(WordFilter(DEFAULT_CHAT_FILTER_WORDS))


@pytest.mark.parametrize(
    ("name", "tidy"),
    [
        ("Waddles", "Waddles"),
        ("  Ice  Cold  ", "Ice Cold"),
        ("Sir_Waddles-2.0", "Sir_Waddles-2.0"),
        ("Abc", "Abc"),
        ("A" * 20, "A" * 20),
        ("Dumbledore", "Dumbledore"),
        ("Badminton Bob", "Badminton Bob"),
        ("Modesty", "Modesty"),
    ],
)
def test_a_good_username_is_tidied(name: str, tidy: str) -> None:
    assert POLICY.username(name) == tidy


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("ab", "3-20"),
        ("A" * 21, "3-20"),
        ("1abc", "3-20"),
        ("abc_", "3-20"),
        ("Wädd", "3-20"),  # ASCII only
        ("W\u0430ddles", "3-20"),  # a Cyrillic a
        ("ab__cd", "in a row"),
        ("LoserKing", "word filter"),
        ("xX_l0ser_Xx", "word filter"),
        ("Admin", "staff"),
        ("AdminBob", "staff"),
        ("Bob the Mod", "staff"),
        ("Adm1n", "staff"),
        ("B0b_4dm1n", "staff"),
        ("ClubPengu Team", "staff"),
        ("Club Pengu Staff", "staff"),
        ("Moderator7", "staff"),
    ],
)
def test_a_bad_username_is_refused_naming_the_rule(name: str, rule: str) -> None:
    with pytest.raises(InvalidMessage) as refused:
        POLICY.username(name)

    assert rule in str(refused.value)
    assert str(refused.value).startswith("name: ")


def test_puffle_names_follow_their_own_length_and_the_filter() -> None:
    assert POLICY.puffle_name(" Bubbles ") == "Bubbles"
    assert POLICY.puffle_name("Mod") == "Mod"  # puffles may be called anything friendly
    for bad in ("", "A" * 17, "Bub_bles", "Stup1d"):
        with pytest.raises(InvalidMessage):
            POLICY.puffle_name(bad)


def test_generated_and_suffixed_names_pass_the_policy() -> None:
    assert POLICY.username(default_username(lambda n: 427)) == "Penguin0427"
    assert POLICY.username(default_username(lambda n: 5, digits=6)) == "Penguin000005"
    assert suffixed("Waddles", 2) == "Waddles2"
    assert suffixed("A" * 20, 13) == "A" * 18 + "13"
    assert suffixed("Ice Cold ", 2) == "Ice Cold2"
