"""The word filter: finds listed words and phrases however they are disguised, for chat
(masked) and for names (refused). Pure code, no I/O.

Before matching, text is reduced to a skeleton, one character per character of the text
(so a match masks exactly what was typed):

- case, width and accents are folded (fullwidth letters, `lösér` → `loser`), as are the
  Cyrillic and Greek letters that look Latin (`loser` written with a Cyrillic o);
- look-alike digits and symbols read as letters: 0→o, 1/!/|/l→i (i and l are one letter
  here), 3→e, 4/@→a, 5/$→s, 7/+→t, 8→b, 9→g;
- punctuation inside a word glues (`L.O.S.E.R`, `lo-ser`, zero-width spaces), spaces
  separate words but may be joined (`lo ser`, `l o s e r`), apostrophes and anything
  else break (`he'll` is not `hell`);
- repeated letters count once (`looooser`), but a listed word's double letters must be
  there (a filter on `butt` leaves `but` alone).

A match is whole words only: it starts where a word starts and ends where one ends, so
`Scunthorpe`, `class` and `assess` pass a filter on `cunt` and `ass`. A listed word
matches with common endings (`losers`, `damned`, `crappy`: s, es, ed, ing, y — only `s`
for words under four letters). Words joined across spaces are not a match when
every piece is an ordinary English word (`the pen is red` is not a filter on `penis`),
unless the pieces are the listed phrase's own words. Symbols at the edges of a word may
be part of it or not (`$tupid`, `loser!`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

# The skeleton's alphabet: a-z letters (l folded into i); A-Z a letter written as a
# symbol ($ is S); ' ' a space; '.' glue; "'" and '#' break a word.
_LEET_DIGITS = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g"}
_LEET_SYMBOLS = {"@": "A", "$": "S", "!": "I", "|": "I", "+": "T"}
# Cyrillic and Greek letters that look like Latin ones, after case folding.
_HOMOGLYPHS = dict(
    zip(
        "аеорсухіјѕкмнтвɡαεικνορτυχ",
        "aeopcyxijskmhtbgaeiknoptux",
        strict=True,
    )
)
_BREAKS = "'`\u2018\u2019"
# Not `er`: `butter` and `hammer` are not a filter on `butt` and `ham`.
_SUFFIXES = ("s", "es", "ed", "ing", "y")
_SHORT_WORD = 4  # listed words shorter than this take only the plural `s`
_WORD = re.compile(r"[a-zA-Z]+")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
# Ordinary words: words joined across spaces are no match when every piece is one of these
# (the skeleton folds l into i, so they are compared in skeleton form).
_COMMON = """a about after again air all also am an and any are as ask at away back bad ball be
been before best big bit book both box boy but by call came can car cat come could cup
day did do does dog done down each eat end even every far fast few find fish fly for
from fun game gave get girl give go good got great had hand has hat have he her here
him his home hot how i if ice in into is it its just keep kid kind know last leg let
like line little live long look lot love made make man many may me men more most much
must my name new next nice no not now of off oh ok old on one only or other our out
over own pen pet play put ran red run said sat saw say see she shoe show sit so some
song soon stop such sun take tell than that the them then there they thing think this
time to too top toy try two up us use very want was way we well went were what when
where which who why will win with word work would yes yet you your""".split()  # noqa: SIM905 (a list a word a line is 300 lines)


def _ascii_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for code in range(128):
        char = chr(code)
        lower = char.lower()
        if "a" <= lower <= "z":
            table[code] = "i" if lower == "l" else lower
        elif char in _LEET_DIGITS:
            table[code] = _LEET_DIGITS[char]
        elif char in _LEET_SYMBOLS:
            table[code] = _LEET_SYMBOLS[char]
        elif char.isspace():
            table[code] = " "
        elif char in _BREAKS or char.isdigit() or code < 32:
            table[code] = "'" if char in _BREAKS else "#"
        else:
            table[code] = "."
    return table


_TABLE = _ascii_table()


@lru_cache(maxsize=4096)
def _fold(char: str) -> str:
    """The skeleton of one non-ASCII character (possibly several characters long)."""
    if char in _BREAKS:
        return "'"
    base = "".join(
        c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
    ).casefold()
    base = "".join(_HOMOGLYPHS.get(c, c) for c in base)
    if base and base.isascii():
        return base.translate(_TABLE)
    category = unicodedata.category(char)
    if category in ("Cf", "Mn", "Me", "Mc"):
        return "."  # zero-width characters and marks: glue
    if category.startswith("Z"):
        return " "
    if category[0] in "PS":
        return "."
    return "#"  # letters of other scripts, other digits: a word of its own, never a match


def skeleton(text: str) -> tuple[str, list[int] | None]:
    """The skeleton of `text`, and for each of its characters the index of the character
    of `text` it came from (None when they are one to one)."""
    if text.isascii():
        return text.translate(_TABLE), None
    parts: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        folded = char.translate(_TABLE) if char.isascii() else _fold(char)
        parts.append(folded)
        origin.extend([index] * len(folded))
    return "".join(parts), origin


def _collapse(letters: str) -> tuple[str, list[int]]:
    """Runs of one letter as one, with each run's length."""
    out: list[str] = []
    runs: list[int] = []
    for letter in letters:
        if out and out[-1] == letter:
            runs[-1] += 1
        else:
            out.append(letter)
            runs.append(1)
    return "".join(out), runs


@dataclass(frozen=True)
class _Entry:
    text: str  # as listed
    runs: tuple[int, ...]  # each collapsed letter's least count (the listed double letters)
    words: tuple[str, ...]  # its words' collapsed skeletons (a phrase has several)


@dataclass(frozen=True)
class Match:
    start: int  # in the text, end exclusive
    end: int
    entry: str


@dataclass(frozen=True)
class _Token:
    start: int  # in the skeleton
    end: int
    core_start: int  # without the symbols at its edges
    core_end: int
    gap: str  # before it: "" (first), "." glue, " " space, "#" a break


def _tokens(sk: str) -> list[_Token]:
    tokens: list[_Token] = []
    last_end = 0
    for found in _WORD.finditer(sk):
        start, end = found.span()
        core_start, core_end = start, end
        while core_start < end and sk[core_start].isupper():
            core_start += 1
        while core_end > core_start and sk[core_end - 1].isupper():
            core_end -= 1
        if core_start == core_end:
            continue  # symbols only ("!!", "$"): punctuation, part of the gap
        between = sk[last_end:start]
        gap = (
            ""
            if not tokens
            else ("#" if "#" in between or "'" in between else " " if " " in between else ".")
        )
        tokens.append(_Token(start, end, core_start, core_end, gap))
        last_end = end
    return tokens


class WordFilter:
    """The listed words and phrases, ready to match (see the module docstring)."""

    def __init__(self, words: Iterable[str]) -> None:
        self._index: dict[str, list[tuple[_Entry, int]]] = {}
        self._prefixes: set[str] = set()
        self._common = {_collapse(skeleton(w)[0])[0] for w in _COMMON}
        self.longest = 0
        for word in {w.strip().lower() for w in words if w.strip()}:
            self._add(word)

    def __bool__(self) -> bool:
        return bool(self._index)

    def _add(self, word: str) -> None:
        sk = skeleton(word)[0].lower()
        letters = "".join(c for c in sk if c.isalpha())
        if not letters:
            return
        collapsed, runs = _collapse(letters)
        words = tuple(_collapse(part)[0] for part in _WORD.findall(sk.lower()))
        entry = _Entry(word, tuple(runs), words)
        suffixes = _SUFFIXES if len(letters) >= _SHORT_WORD else ("s",)
        for suffix in ("", *suffixes):
            key = _collapse(collapsed + suffix)[0]
            self._index.setdefault(key, []).append((entry, len(collapsed)))
            self._prefixes.update(key[:n] for n in range(1, len(key) + 1))
            self.longest = max(self.longest, len(key))

    # --- finding -----------------------------------------------------------------------

    def find(self, text: str) -> list[Match]:
        """Every listed word in `text`, left to right, not overlapping."""
        if not self._index:
            return []
        sk, origin = skeleton(text)
        tokens = _tokens(sk)
        found: list[Match] = []
        i = 0
        while i < len(tokens):
            best = self._longest_from(sk, tokens, i)
            if best is None:
                i += 1
                continue
            start, end, entry, last = best
            if origin is not None:
                start, end = origin[start], origin[end - 1] + 1
            found.append(Match(start, end, entry))
            i = last + 1
        return found

    def _longest_from(
        self, sk: str, tokens: list[_Token], i: int
    ) -> tuple[int, int, str, int] | None:
        first = tokens[i]
        best: tuple[int, int, str, int] | None = None
        for head in {first.start, first.core_start}:
            letters = ""
            for j in range(i, len(tokens)):
                token = tokens[j]
                if j > i and token.gap not in (".", " "):
                    break
                body = sk[head if j == i else token.start : token.end]
                middle = sk[head if j == i else token.start : token.core_end]
                for tail_text in {body, middle}:
                    candidate = (letters + tail_text).lower()
                    hit = self._lookup(candidate, tokens[i : j + 1], sk)
                    if hit is not None:
                        end = token.end if tail_text is body else token.core_end
                        if best is None or end - head > best[1] - best[0]:
                            best = (head, end, hit, j)
                letters += body.lower()
                if _collapse(letters)[0] not in self._prefixes:
                    break
        return best

    def _lookup(self, candidate: str, span: list[_Token], sk: str) -> str | None:
        collapsed, runs = _collapse(candidate)
        for entry, length in self._index.get(collapsed, ()):
            doubled = all(
                have >= need for have, need in zip(runs[:length], entry.runs, strict=False)
            )
            if doubled and not self._joined_ordinary_words(span, entry, sk):
                return entry.text
        return None

    def _joined_ordinary_words(self, span: list[_Token], entry: _Entry, sk: str) -> bool:
        """True when the span joins words across a space and every piece is an ordinary
        word (and the pieces are not the listed phrase's own words)."""
        if not any(token.gap == " " for token in span[1:]):
            return False
        pieces = tuple(_collapse(sk[t.core_start : t.core_end].lower())[0] for t in span)
        if pieces[: len(entry.words)] == entry.words:
            return False
        return all(piece in self._common for piece in pieces)

    # --- uses --------------------------------------------------------------------------

    def apply(self, text: str) -> str:
        """`text` with every match masked by asterisks, one per character (chat)."""
        matches = self.find(text)
        if not matches:
            return text
        out: list[str] = []
        last = 0
        for match in matches:
            out.append(text[last : match.start])
            out.append("*" * (match.end - match.start))
            last = match.end
        out.append(text[last:])
        return "".join(out)

    def in_name(self, name: str, *, edges_only: bool = False) -> str | None:
        """The listed word `name` contains, or None. Names have no spaces to tell words
        apart, so they are stricter than chat: camelCase parts count as words
        (`LoserKing`), and a listed word of five letters or more counts anywhere in the
        name (`xXl0serXx`) — or, with `edges_only`, at its start or end (`AdminBob`, for
        reserved words, so that `Badminton` passes)."""
        spaced = _CAMEL.sub(" ", name)
        found = self.find(spaced)
        if found:
            return found[0].entry
        compact = _collapse("".join(c for c in skeleton(name)[0].lower() if c.isalpha()))[0]
        for key, entries in self._index.items():
            for entry, length in entries:
                if length != len(key) or length < 5:
                    continue  # only the words themselves, of five letters or more
                if compact.startswith(key) or compact.endswith(key):
                    return entry.text
                if not edges_only and key in compact:
                    return entry.text
        return None
