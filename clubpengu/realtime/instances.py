"""Room instances: the catalogue's rooms are templates, live rooms are instances of them.

A room holds only so many penguins; when every instance of a room is full, another opens.
The first instance of a room has the room's own id (`town`), later ones a suffix
(`town~2`, `town~3`, ...). Asking for a catalogue id places a player in the fullest
instance that still has a seat (so rooms feel alive), opening one when all are full;
asking for an instance id seats the player in exactly that instance or refuses.

Which instances are open and who sits in them is the room directory's (realtime/directory/).
"""

from __future__ import annotations

import re

SEPARATOR = "~"
MAX_SUFFIX = 9999
_INSTANCE_ID = re.compile(r"^([a-z][a-z0-9_]{0,31})(?:~([1-9][0-9]{0,3}))?$")


def instance_id(room: str, suffix: int) -> str:
    """`town` for the first instance, `town~2` for the second, ..."""
    return room if suffix == 1 else f"{room}{SEPARATOR}{suffix}"


def parse_instance(text: str) -> tuple[str, int] | None:
    """(`room`, suffix) of an instance id, or None if the text is not one. The first
    instance is `town`; `town~1` names it too, for a client that must ask for exactly the
    first instance (`town` alone asks for any instance of the room)."""
    match = _INSTANCE_ID.match(text)
    if match is None:
        return None
    return match[1], int(match[2] or 1)


def names_instance(text: str) -> bool:
    """Whether a room a client asked for names one instance (`town~2`, `town~1`) rather
    than the room (`town`)."""
    return SEPARATOR in text


def exact_name(instance: str) -> str:
    """The name that asks for exactly this instance (`town~1` for `town`): what a client
    sends to follow a player into the instance they are in, and nowhere else."""
    return instance if names_instance(instance) else f"{instance}{SEPARATOR}1"
