"""The word filter (clubpengu/wordfilter.py): disguised words are found, ordinary words
and sentences are left alone (the Scunthorpe problem), and a match masks exactly what was
typed."""

from __future__ import annotations

import pytest

from clubpengu.config import DEFAULT_CHAT_FILTER_WORDS
from clubpengu.wordfilter import WordFilter

WORDS = WordFilter([*DEFAULT_CHAT_FILTER_WORDS, "ass", "hell", "butt", "penis", "cunt"])


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("you loser", "you *****"),
        ("l0ser", "*****"),
        ("lo ser", "******"),
        ("L.O.S.E.R", "*********"),
        ("l-o-s-e-r", "*********"),
        ("l o s e r", "*********"),
        ("looooser", "********"),
        ("LOSER!!", "*****!!"),
        ("u r a l0s3r", "u r a *****"),
        ("1d10t", "*****"),
        ("stup1d", "******"),
        ("$tupid", "******"),
        ("d@mn", "****"),
        ("cr@p", "****"),
        ("dumbbb", "******"),
        ("losers", "******"),
        ("crappy", "******"),
        ("what a l.o.s.e.r lol", "what a ********* lol"),
        ("\u00efdiot", "*****"),  # ï
        ("\uff4c\uff4f\uff53\uff45\uff52", "*****"),  # fullwidth
        ("l\u043eser", "*****"),  # a Cyrillic o
        ("lo\u200bser", "******"),  # a zero-width space
        ("🐧 you loser 🐧", "🐧 you ***** 🐧"),
        ("ASS", "***"),
        ("asss", "****"),
        ("buttt", "*****"),
    ],
)
def test_a_disguised_listed_word_is_masked_character_for_character(text: str, masked: str) -> None:
    assert WORDS.apply(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "Scunthorpe is a town in England",
        "what a classic hat",
        "I will assess the bass in class",
        "he passes the ball",
        "hello everyone, nice shell",
        "he'll be back",
        "but why though",
        "the pen is red",
        "as if",
        "dumbo the elephant",
        "the dam is full",
        "crape myrtle and scrap metal",
        "dumbbell workout",
        "idiom of the day",
        "the studio is open",
        "a loose tooth",
        "I lose, gg",
        "we are closer now",
        "a 10 out of 10",
        "meet at 3 pm",
        "l8r",
        "looks good",
        "butter on toast, buttons on a coat",
        "cocktail",
        "shellfish",
        "Damnation Alley is a film",
    ],
)
def test_ordinary_words_and_sentences_pass_untouched(text: str) -> None:
    assert WORDS.apply(text) == text


def test_a_listed_phrase_is_found_however_it_is_spaced() -> None:
    phrases = WordFilter(["snowball fight"])

    assert phrases.apply("SNOWBALL   fight!") == "*" * 16 + "!"
    assert phrases.apply("snowball-fight") == "**************"
    assert phrases.apply("a snowball and a fight") == "a snowball and a fight"


def test_an_empty_list_finds_nothing() -> None:
    empty = WordFilter([])

    assert not empty
    assert empty.apply("you loser") == "you loser"


@pytest.mark.parametrize(
    ("name", "found"),
    [
        ("LoserKing", "loser"),
        ("xXl0serXx", "loser"),
        ("Lo_Ser", "loser"),
        ("Dumbledore", None),
        ("Scunthorpe", None),
        ("Classic", None),
    ],
)
def test_names_are_checked_more_strictly_than_chat(name: str, found: str | None) -> None:
    assert WORDS.in_name(name) == found
