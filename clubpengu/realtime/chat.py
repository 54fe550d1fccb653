"""Chat text rules, the pluggable chat filter, and the emotes a player may show.

Rules (docs/protocol.md, "Chat"): the text is trimmed, must then be 1..200 characters
(code points), and may not contain control characters (Unicode category Cc: newlines,
tabs, escapes) or the bidirectional overrides that make text display in a misleading
order. A filter then masks words (wordfilter.py); it never drops a message.
"""

from __future__ import annotations

import unicodedata
from typing import Protocol

from clubpengu.errors import InvalidMessage

MAX_CHAT_LENGTH = 200
# U+202A..U+202E embeddings/overrides and U+2066..U+2069 isolates reorder displayed text.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

# The emotes a client may send (docs/protocol.md §3 `emote`). Clients map each to an animation.
EMOTES: frozenset[str] = frozenset(
    {
        "wave", "dance", "sit", "laugh", "smile", "wink", "sad", "angry", "surprised",
        "heart", "sick", "coffee", "pizza", "cake", "ice_cream", "puffle", "coin",
        "flower", "snowball", "joke",
    }
)  # fmt: skip


def clean_chat_text(text: str) -> str:
    """The trimmed text, or InvalidMessage naming the rule it breaks."""
    trimmed = text.strip()
    if not trimmed:
        raise InvalidMessage("text: must not be empty")
    if len(trimmed) > MAX_CHAT_LENGTH:
        raise InvalidMessage(f"text: at most {MAX_CHAT_LENGTH} characters")
    for char in trimmed:
        if char in _BIDI_CONTROLS or unicodedata.category(char) == "Cc":
            raise InvalidMessage("text: control characters are not allowed")
    return trimmed


def check_emote(emote: str) -> str:
    if emote not in EMOTES:
        raise InvalidMessage("emote: not a known emote")
    return emote


class ChatFilter(Protocol):
    """Anything with `apply(text) -> text` can filter chat (a service, a model ...)."""

    def apply(self, text: str) -> str: ...
