"""One name policy for every path that sets a name: the generated default, an in-game
migration, the bulk import, puffles. Pure code; uniqueness is services/usernames.py's.

A username:
- is 3-20 characters after trimming (inner runs of spaces become one);
- uses ASCII letters, digits, space, `_`, `-` and `.` only, starts with a letter, ends with
  a letter or digit, and has no two of ` _-.` in a row. ASCII only, because a Cyrillic
  a looks exactly like a Latin one: another script would let a name pass for another
  player's, or for staff;
- passes the word filter (the chat's, wordfilter.py), more strictly than chat: camelCase
  parts are words, and a listed word of five letters or more counts anywhere in it;
- does not name or pass for staff: `admin`, `moderator`, `mod`, `staff`, `club pengu` …
  (RESERVED_NAMES) as a word of the name, or at its start or end (`AdminBob`,
  `Bob_the_Mod`), with the filter's look-alikes (`4dm1n`);
- is unique whatever its case (`usernameLower`, a unique index; services/usernames.py).

A puffle name is 1-16 letters, digits and spaces and passes the word filter; puffles may
share names.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable

from clubpengu.errors import InvalidMessage
from clubpengu.wordfilter import WordFilter

USERNAME_MIN, USERNAME_MAX = 3, 20
PUFFLE_NAME_MAX = 16
_USERNAME = re.compile(r"[A-Za-z](?:[A-Za-z0-9 _.-]*[A-Za-z0-9])?")
_SEPARATORS_IN_A_ROW = re.compile(r"[ _.-]{2}")
_PUFFLE_NAME = re.compile(r"[A-Za-z0-9 ]+")
RESERVED_NAMES = (
    "admin", "administrator", "moderator", "mod", "mods", "staff", "club pengu",
    "clubpengu", "official", "support", "system", "owner", "developer", "server",
)  # fmt: skip
DEFAULT_PREFIX = "Penguin"
USERNAME_RULE = (
    "3-20 letters, digits, spaces, _, - or ., starting with a letter and ending with a "
    "letter or digit"
)


class NameRefused(InvalidMessage):
    """A name the policy refuses; the message says which rule (safe to show)."""


def tidy(name: str) -> str:
    """Trimmed, with inner runs of whitespace as one space."""
    return " ".join(name.split())


def lower(name: str) -> str:
    """The key that makes names unique whatever their case (`usernameLower`)."""
    return name.lower()


def default_username(randbelow: Callable[[int], int] = secrets.randbelow, digits: int = 4) -> str:
    """`Penguin0427`: a name nobody chose. More digits when four keep clashing."""
    return f"{DEFAULT_PREFIX}{randbelow(10**digits):0{digits}d}"


def suffixed(name: str, number: int) -> str:
    """`name` with a number at its end, cut to fit USERNAME_MAX (`Waddles` → `Waddles2`)."""
    tail = str(number)
    base = name[: USERNAME_MAX - len(tail)].rstrip(" _.-")
    return base + tail


class NamePolicy:
    """The rules of the module docstring, over the server's word filter."""

    def __init__(self, words: WordFilter, reserved: WordFilter | None = None) -> None:
        self.words = words
        self.reserved = reserved if reserved is not None else WordFilter(RESERVED_NAMES)

    def username_problem(self, name: object) -> str | None:
        """Why `name` cannot be a username (a sentence for the player), or None."""
        if not isinstance(name, str):
            return "a name is text"
        name = tidy(name)
        if not USERNAME_MIN <= len(name) <= USERNAME_MAX or not _USERNAME.fullmatch(name):
            return USERNAME_RULE
        if _SEPARATORS_IN_A_ROW.search(name):
            return "no two spaces, _, - or . in a row"
        if self.words.in_name(name) is not None:
            return "not allowed by the word filter"
        if self.reserved.in_name(name, edges_only=True) is not None:
            return "names may not pass for staff or the game"
        return None

    def username(self, name: object) -> str:
        """The tidied name. Raises NameRefused."""
        problem = self.username_problem(name)
        if problem is not None:
            raise NameRefused(f"name: {problem}")
        assert isinstance(name, str)
        return tidy(name)

    def puffle_name_problem(self, name: object) -> str | None:
        if not isinstance(name, str):
            return "a name is text"
        name = tidy(name)
        if not 1 <= len(name) <= PUFFLE_NAME_MAX or not _PUFFLE_NAME.fullmatch(name):
            return f"1-{PUFFLE_NAME_MAX} letters, digits and spaces"
        if self.words.in_name(name) is not None:
            return "please choose a friendlier name"
        return None

    def puffle_name(self, name: object) -> str:
        """The tidied puffle name. Raises NameRefused."""
        problem = self.puffle_name_problem(name)
        if problem is not None:
            raise NameRefused(f"name: {problem}")
        assert isinstance(name, str)
        return tidy(name)
